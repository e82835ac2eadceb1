//! The Fiat–Shamir transcript: a hash chain that absorbs everything the verifier reads, in
//! order, and squeezes challenges from it. Every input is length-prefixed, labels included, and
//! hashed in the transcript's own domain ([`Domain::Transcript`]).

use p3_field::PrimeCharacteristicRing;
use sigil_air::field::{P, ef_from_base};
use sigil_air::{EF, F};

use crate::hash::{ActiveHasher, Digest, Domain, Hasher};

/// The transcript state.
#[derive(Clone, Debug)]
pub struct Transcript {
    state: Digest,
    counter: u64,
}

fn hash(parts: &[&[u8]]) -> Digest {
    ActiveHasher::hash_bytes(Domain::Transcript, parts)
}

impl Transcript {
    /// A transcript for protocol `domain`.
    pub fn new(domain: &[u8]) -> Self {
        let len = (domain.len() as u64).to_le_bytes();
        Self { state: hash(&[b"init", &len, domain]), counter: 0 }
    }

    /// Absorbs labelled bytes.
    pub fn absorb(&mut self, label: &[u8], bytes: &[u8]) {
        let label_len = (label.len() as u64).to_le_bytes();
        let len = (bytes.len() as u64).to_le_bytes();
        self.state = hash(&[&self.state, b"absorb", &label_len, label, &len, bytes]);
        self.counter = 0;
    }

    /// Absorbs a list of canonical `u64`s.
    pub fn absorb_u64s(&mut self, label: &[u8], values: &[u64]) {
        let mut bytes = alloc::vec::Vec::with_capacity(values.len() * 8);
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        self.absorb(label, &bytes);
    }

    /// Absorbs commitments (caps), each prefixed by its size.
    pub fn absorb_caps(&mut self, label: &[u8], caps: &[crate::merkle::Cap]) {
        let mut bytes = alloc::vec::Vec::new();
        bytes.extend_from_slice(&(caps.len() as u64).to_le_bytes());
        for c in caps {
            bytes.extend_from_slice(&(c.len() as u64).to_le_bytes());
            bytes.extend_from_slice(c.as_flattened());
        }
        self.absorb(label, &bytes);
    }

    fn squeeze(&mut self) -> Digest {
        let c = self.counter.to_le_bytes();
        self.counter += 1;
        hash(&[&self.state, b"squeeze", &c])
    }

    /// 64 uniformly random bits.
    pub fn sample_u64(&mut self) -> u64 {
        let d = self.squeeze();
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        u64::from_le_bytes(b)
    }

    /// A uniformly random base-field element (rejection sampling).
    pub fn sample_f(&mut self) -> F {
        loop {
            let v = self.sample_u64();
            if v < P {
                return F::from_u64(v);
            }
        }
    }

    /// A uniformly random extension-field element.
    pub fn sample_ef(&mut self) -> EF {
        ef_from_base([self.sample_f(), self.sample_f()])
    }

    /// A uniformly random index below `2^bits`.
    pub fn sample_bits(&mut self, bits: usize) -> u64 {
        let v = self.sample_u64();
        if bits >= 64 { v } else { v & ((1u64 << bits) - 1) }
    }

    /// Whether `nonce` solves the proof-of-work puzzle of `bits` leading zero bits.
    pub fn check_pow(&self, bits: u8, nonce: u64) -> bool {
        let d = hash(&[&self.state, b"pow", &nonce.to_le_bytes()]);
        Self::pow_digest_ok(&d, bits)
    }

    /// The bytes before the nonce in the proof-of-work hash (in [`Domain::Transcript`]): a
    /// prover may hash many nonces at once.
    pub fn pow_prefix(&self) -> [u8; 35] {
        let mut p = [0u8; 35];
        p[..32].copy_from_slice(&self.state);
        p[32..].copy_from_slice(b"pow");
        p
    }

    /// Whether the proof-of-work digest `d` starts with `bits` zero bits.
    pub fn pow_digest_ok(d: &Digest, bits: u8) -> bool {
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        u64::from_be_bytes(b).leading_zeros() >= u32::from(bits)
    }
}
