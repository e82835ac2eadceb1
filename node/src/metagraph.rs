//! Who is on the network: the neurons of a subnet, from a source behind [`MetagraphSource`]
//! (a JSON snapshot file on local networks; a chain client can implement the same trait).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One neuron of the subnet.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Neuron {
    pub uid: u16,
    /// SS58 address.
    pub hotkey: String,
    /// Where its axon listens (empty / 0 when it serves none).
    #[serde(default)]
    pub ip: String,
    #[serde(default)]
    pub port: u16,
    /// Stake, in TAO.
    #[serde(default)]
    pub stake: f64,
    #[serde(default)]
    pub validator_permit: bool,
}

impl Neuron {
    /// Whether a validator queries it (the subnet's rule: no validator permit, an address).
    pub fn is_queryable_miner(&self) -> bool {
        !self.validator_permit && !self.ip.is_empty() && self.ip != "0.0.0.0" && self.port != 0
    }
}

/// A source of the subnet's neurons.
pub trait MetagraphSource: Send + Sync + std::fmt::Debug {
    /// The neurons now.
    fn neurons(&self) -> Result<Vec<Neuron>, String>;
}

/// A JSON snapshot file, `{"netuid": 2, "neurons": [{"uid", "hotkey", "ip", "port", "stake",
/// "validator_permit"}, ...]}`, read afresh at each call (a local network may rewrite it).
#[derive(Clone, Debug)]
pub struct JsonSnapshot {
    pub path: PathBuf,
}

/// The file layout of a [`JsonSnapshot`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(default = "default_netuid")]
    pub netuid: u16,
    pub neurons: Vec<Neuron>,
}

fn default_netuid() -> u16 {
    2
}

/// The largest snapshot file read (a metagraph of 256 UIDs is a few tens of KB).
const MAX_SNAPSHOT_BYTES: u64 = 16 << 20;

impl MetagraphSource for JsonSnapshot {
    fn neurons(&self) -> Result<Vec<Neuron>, String> {
        let label = self.path.display();
        let len = std::fs::metadata(&self.path).map_err(|e| format!("{label}: {e}"))?.len();
        if len > MAX_SNAPSHOT_BYTES {
            return Err(format!("{label}: {len} bytes, over the {MAX_SNAPSHOT_BYTES}-byte limit of a metagraph snapshot"));
        }
        let text = std::fs::read_to_string(&self.path).map_err(|e| format!("{label}: {e}"))?;
        let s: Snapshot = serde_json::from_str(&text).map_err(|e| format!("{label}: not a metagraph snapshot: {e}"))?;
        for n in &s.neurons {
            crate::keys::ss58_decode(&n.hotkey).map_err(|e| format!("{label}: uid {}: {e}", n.uid))?;
        }
        Ok(s.neurons)
    }
}

/// A fixed list of neurons (one axon to query, tests).
#[derive(Clone, Debug)]
pub struct StaticMetagraph(pub Vec<Neuron>);

impl MetagraphSource for StaticMetagraph {
    fn neurons(&self) -> Result<Vec<Neuron>, String> {
        Ok(self.0.clone())
    }
}
