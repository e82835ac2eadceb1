//! Merkle path verification. Leaf `j` of a tree over an LDE of size `N` holds rows `j` and
//! `j + N/2` (the two points `x` and `-x` that FRI folds together).

use alloc::vec::Vec;

use sigil_air::F;

use crate::hash::{ActiveHasher, Digest, Hasher};

/// Recomputes the root from a leaf's values, its index and its siblings (leaf to root).
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

/// A Merkle tree stored as a heap: `nodes[1]` is the root, leaves are `nodes[n..2n]`.
#[derive(Clone, Debug)]
pub struct MerkleTree {
    pub nodes: Vec<Digest>,
}

impl MerkleTree {
    /// Builds the tree over leaf digests (a power-of-two count, at least 1).
    pub fn from_leaf_digests(leaves: Vec<Digest>) -> Self {
        let n = leaves.len();
        let mut nodes = alloc::vec![[0u8; 32]; n];
        nodes.extend(leaves);
        for i in (1..n).rev() {
            nodes[i] = ActiveHasher::hash_node(&nodes[2 * i], &nodes[2 * i + 1]);
        }
        if n == 1 {
            nodes[0] = nodes[1];
        }
        Self { nodes }
    }

    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.nodes.len() / 2
    }

    /// The root.
    pub fn root(&self) -> Digest {
        self.nodes[1.min(self.nodes.len() - 1)]
    }

    /// The siblings of leaf `index`, from the leaf up.
    pub fn path(&self, index: usize) -> Vec<Digest> {
        let mut i = index + self.n_leaves();
        let mut out = Vec::new();
        while i > 1 {
            out.push(self.nodes[i ^ 1]);
            i >>= 1;
        }
        out
    }
}
