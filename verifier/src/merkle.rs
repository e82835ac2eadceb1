//! Merkle trees with caps. A commitment is the tree's *cap*: its `2^c` nodes at height `c`
//! from the root (`c = min(MERKLE_CAP_LOG, depth)`), so that openings stop `c` levels below the
//! root. With 28 queries a cap of 32 digests costs 1 KB and saves 5 siblings per opening.
//! Leaf `j` of a tree over an LDE holds the coset of rows that FRI folds together.

use alloc::vec::Vec;

use sigil_air::F;

use crate::hash::{ActiveHasher, Digest, Hasher};

/// log2 of the number of digests in a full cap.
pub const MERKLE_CAP_LOG: usize = 5;

/// A commitment: the cap of a tree.
pub type Cap = Vec<Digest>;

/// log2 of the cap size of a tree of `2^depth` leaves.
pub fn cap_log(depth: usize) -> usize {
    depth.min(MERKLE_CAP_LOG)
}

/// Whether a leaf's values, its index and its siblings (leaf up to the cap) lead to the cap
/// entry above the leaf.
pub fn verify_path(values: &[F], index: u64, siblings: &[Digest], cap: &[Digest]) -> bool {
    let node = root_from_path(values, index, siblings);
    let above = index.checked_shr(siblings.len() as u32).unwrap_or(0);
    cap.get(above as usize) == Some(&node)
}

/// Recomputes the node above a leaf from its values, index and siblings (leaf upwards).
pub fn root_from_path(values: &[F], mut index: u64, siblings: &[Digest]) -> Digest {
    let mut h = ActiveHasher::hash_leaf(values);
    for s in siblings {
        h = if index & 1 == 0 {
            ActiveHasher::hash_node(&h, s)
        } else {
            ActiveHasher::hash_node(s, &h)
        };
        index >>= 1;
    }
    h
}

/// A Merkle tree stored as a heap: `nodes[1]` is the root, leaves are `nodes[n..2n]`. The
/// prover's backends build it; the verifier only checks paths against its cap.
#[derive(Clone, Debug)]
pub struct MerkleTree {
    pub nodes: Vec<Digest>,
}

// The tree is built and opened by the prover from its own data, never from proof bytes.
#[allow(clippy::indexing_slicing)]
impl MerkleTree {
    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.nodes.len() / 2
    }

    /// log2 of the number of leaves.
    pub fn depth(&self) -> usize {
        self.n_leaves().trailing_zeros() as usize
    }

    /// The cap: the `2^cap_log(depth)` nodes at that height.
    pub fn cap(&self) -> Cap {
        let c = 1usize << cap_log(self.depth());
        self.nodes[c..2 * c].to_vec()
    }

    /// The siblings of leaf `index`, from the leaf up to (not including) the cap.
    pub fn path(&self, index: usize) -> Vec<Digest> {
        let mut i = index + self.n_leaves();
        let stop = 1usize << cap_log(self.depth());
        let mut out = Vec::new();
        while i >= 2 * stop {
            out.push(self.nodes[i ^ 1]);
            i >>= 1;
        }
        out
    }
}
