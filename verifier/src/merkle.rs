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

// ---- Mixed-height trees ------------------------------------------------------------------------

/// log2 of the cap of a mixed-height tree whose tallest matrix has `2^depth` rows and whose
/// shortest has `2^min_log`: the cap sits at or below the shortest matrix's level.
pub fn mixed_cap_log(depth: usize, min_log: usize) -> usize {
    cap_log(depth).min(min_log)
}

/// How many of a mixed-height tree's lowest levels the prover does not store: a level of
/// `2^(depth - s)` digests is most of the tree's memory (level 0 alone has one per LDE row:
/// 256 MB for an LDE of 2^23 rows), while an opening needs only one node of each, recomputed
/// from the `2^s` rows below it when the path is opened (`2^MIXED_TREE_BASE - 1` leaf hashes
/// per opening). Changes no digest and no proof byte.
pub const MIXED_TREE_BASE: usize = 4;

/// The lowest level a prover stores of a mixed-height tree of `depth` with its cap at
/// `cap_log` (see [`MIXED_TREE_BASE`]; never above the cap).
pub fn mixed_tree_base(depth: usize, cap_log: usize) -> usize {
    MIXED_TREE_BASE.min(depth.saturating_sub(cap_log))
}

/// One commitment to matrices of several heights (one commitment phase of all tables).
///
/// Level 0 has a node per row of the tallest matrices, the hash of their row. Level `s + 1`
/// (width `W`) pairs nodes `j` and `j + W` of level `s`, so that node `j` of a level of width
/// `W` covers every row `i` with `i mod W = j`: the rows a query at position `i` reads in a
/// table of `W` rows (FRI folds `x` with `-x`, `i` with `i + W`). Matrices of `W` rows enter
/// at that level: `node = H(pair, H_leaf(their row j))`. The cap is the level at most
/// `MERKLE_CAP_LOG` levels from the top, and never above the shortest matrix's level.
#[derive(Clone, Debug)]
pub struct MixedTree {
    /// The levels from `base` up: `levels[k]` is level `base + k`, of `2^(depth - base - k)`
    /// nodes; the last level is the cap.
    pub levels: Vec<Vec<Digest>>,
    /// The lowest level stored ([`mixed_tree_base`]); the nodes below are recomputed from the
    /// rows when a path is opened.
    pub base: usize,
}

// The tree is built and opened by the prover from its own data, never from proof bytes.
#[allow(clippy::indexing_slicing)]
impl MixedTree {
    /// The cap.
    pub fn cap(&self) -> Cap {
        self.levels.last().cloned().unwrap_or_default()
    }

    /// The siblings of position `index` on the stored levels (from level `base` up to the
    /// cap); those below are the opener's to recompute.
    pub fn path(&self, index: usize) -> Vec<Digest> {
        let mut j = index % self.levels[0].len();
        let mut out = Vec::with_capacity(self.levels.len() - 1);
        for level in &self.levels[..self.levels.len() - 1] {
            let half = level.len() / 2;
            out.push(level[if j < half { j + half } else { j - half }]);
            j %= half;
        }
        out
    }
}

/// Whether an opening of a mixed-height tree leads to its cap. `values` holds, level by level
/// (tallest first), the rows at the query's position of the matrices entering at that level;
/// `levels` lists each entering level and its number of words; `depth` is log2 of the tallest
/// height; `index` the query's position (taken modulo `2^depth`).
pub fn verify_mixed_path(values: &[F], levels: &[(usize, usize)], index: u64, siblings: &[Digest], cap: &[Digest], depth: usize) -> bool {
    let Some(mut j) = index.checked_rem(1u64 << depth.min(63)) else { return false };
    let mut h: Option<Digest> = None;
    let mut rest = values;
    let mut entering = levels.iter().peekable();
    for s in 0..=siblings.len() {
        if let Some(&&(level, words)) = entering.peek()
            && level == s
        {
            entering.next();
            if words > rest.len() {
                return false;
            }
            let (rows, tail) = rest.split_at(words);
            rest = tail;
            let leaf = ActiveHasher::hash_leaf(rows);
            h = Some(match h {
                None => leaf,
                Some(pair) => ActiveHasher::hash_node(&pair, &leaf),
            });
        }
        let (Some(cur), Some(sib)) = (h, siblings.get(s)) else { break };
        let Some(half) = 1u64.checked_shl(depth.saturating_sub(s + 1) as u32) else { return false };
        h = Some(if j < half { ActiveHasher::hash_node(&cur, sib) } else { ActiveHasher::hash_node(sib, &cur) });
        j %= half;
    }
    rest.is_empty() && entering.next().is_none() && h.is_some() && cap.get(j as usize) == h.as_ref()
}
