//! The Sigil node: the `sigil` command's subnet roles. A miner proves requests for models it
//! serves; a validator hands out work, verifies every proof with the verifier crate and scores
//! the miners (`../shared/protocol/README.md` is the wire's reference).

pub mod axon;
pub mod keys;
pub mod lightning;
pub mod circuits;
pub mod metagraph;
pub mod miner;
pub mod synapse;
pub mod scoring;
pub mod store;
pub mod validator;
