//! Merkle trees with the engine's hash (keyed Blake3) on the device: the heap-ordered trees of
//! FRI layers and the mixed-height trees of the trace commitments, node for node the CPU
//! backend's. A level larger than one binding is held in equal parts: in a mixed tree node
//! `i` of a level hashes nodes `i` and `i + w` of the level below, so part `q` of a level
//! comes from parts `q` and `q + parts / 2` of the one below; in a heap tree from parts
//! `2q` and `2q + 1`.

use sigil_air::EF;
use sigil_prover::Lde;
use sigil_verifier::hash::{Digest, KEY_LEAF, KEY_NODE};
use sigil_verifier::merkle::{MerkleTree, MixedTree};

use crate::ntt::DeviceMatrix;
use crate::words::{digest_of, ef_words, f_words, key_words};
use crate::{Gpu, GpuError};

/// Bytes of a digest on the device (eight u32 words).
const DIGEST: u64 = 32;

/// A level of digests on the device, in parts of equal size (the last level may be one
/// smaller part).
struct Level {
    parts: Vec<wgpu::Buffer>,
    /// Digests per part.
    part: usize,
    len: usize,
}

impl Gpu {
    fn level(&self, label: &str, len: usize, max_part: usize) -> Result<Level, GpuError> {
        let part = len.min(max_part).max(1);
        let parts = (0..len.div_ceil(part).max(1)).map(|_| self.zeroed(label, DIGEST * part as u64)).collect::<Result<_, _>>()?;
        Ok(Level { parts, part, len })
    }

    /// Leaf digests of `rows` rows of `width` elements into `level`, in slices of rows that
    /// fit one binding: row `j` as `fill(j, out)` writes it (skipped, and the slice zeroed, when
    /// `device_only`), then `place(enc, slice, first_row, rows)` copies columns already on the
    /// device into the slice.
    fn hash_rows(
        &self,
        enc: &mut wgpu::CommandEncoder,
        level: &Level,
        width: usize,
        fill: impl Fn(usize, &mut Vec<u32>),
        device_only: bool,
        place: impl Fn(&mut wgpu::CommandEncoder, &wgpu::Buffer, usize, usize),
    ) -> Result<(), GpuError> {
        let slice = self.max_items(8 * width.max(1) as u64).min(level.part);
        let mut leaf_params = vec![0u32; 4];
        leaf_params.extend(key_words(&KEY_LEAF));
        for (q, buf) in level.parts.iter().enumerate() {
            let rows_here = level.part.min(level.len - q * level.part);
            let mut r0 = 0;
            while r0 < rows_here {
                let k = slice.min(rows_here - r0);
                let first = q * level.part + r0;
                let data = if device_only {
                    self.zeroed("rows", 8 * (width * k) as u64)?
                } else {
                    let mut words = Vec::with_capacity(2 * width * k);
                    for j in 0..k {
                        fill(first + j, &mut words);
                    }
                    self.upload("rows", &words)?
                };
                place(enc, &data, first, k);
                leaf_params[..3].copy_from_slice(&[k as u32, 2 * width as u32, r0 as u32]);
                // Rows of one Blake3 chunk (128 elements) take the kernel without a chunk stack.
                let kernel = if width <= 128 { &self.kernels.hash_rows } else { &self.kernels.hash_rows_long };
                self.dispatch(enc, kernel, &[&data, buf], &leaf_params, k);
                r0 += k;
            }
        }
        Ok(())
    }

    /// `out[o + i] = H(left[l + i * ls], right[r + i * rs])` for `i < count`.
    #[allow(clippy::too_many_arguments)]
    fn hash_pairs(&self, enc: &mut wgpu::CommandEncoder, left: &wgpu::Buffer, l: usize, ls: usize, right: &wgpu::Buffer, r: usize, rs: usize, out: &wgpu::Buffer, o: usize, count: usize) {
        let mut p = vec![count as u32, l as u32, ls as u32, r as u32, rs as u32, o as u32, 0, 0];
        p.extend(key_words(&KEY_NODE));
        self.dispatch(enc, &self.kernels.hash_nodes, &[left, right, out], &p, count);
    }

    /// The level above `below` in a mixed tree: `H(below[i], below[i + w])`.
    fn mixed_parents(&self, enc: &mut wgpu::CommandEncoder, below: &Level, max_part: usize) -> Result<Level, GpuError> {
        let w = below.len / 2;
        let up = self.level("tree level", w, max_part)?;
        if below.parts.len() == 1 {
            self.hash_pairs(enc, &below.parts[0], 0, 1, &below.parts[0], w, 1, &up.parts[0], 0, w);
        } else {
            let half = below.parts.len() / 2;
            for q in 0..up.parts.len() {
                self.hash_pairs(enc, &below.parts[q], 0, 1, &below.parts[q + half], 0, 1, &up.parts[q], 0, up.part);
            }
        }
        Ok(up)
    }

    /// The level above `below` in a heap-ordered tree: `H(below[2i], below[2i + 1])`.
    fn heap_parents(&self, enc: &mut wgpu::CommandEncoder, below: &Level, max_part: usize) -> Result<Level, GpuError> {
        let w = below.len / 2;
        let up = self.level("tree level", w, max_part)?;
        if below.parts.len() == 1 {
            self.hash_pairs(enc, &below.parts[0], 0, 2, &below.parts[0], 1, 2, &up.parts[0], 0, w);
        } else {
            let h = below.part / 2;
            for q in 0..up.parts.len() {
                for k in 0..2 {
                    let b = &below.parts[2 * q + k];
                    self.hash_pairs(enc, b, 0, 2, b, 1, 2, &up.parts[q], k * h, h);
                }
            }
        }
        Ok(up)
    }

    fn read_levels(&self, enc: wgpu::CommandEncoder, levels: &[Level]) -> Result<Vec<Vec<Digest>>, GpuError> {
        let reads: Vec<(&wgpu::Buffer, u64)> = levels.iter().flat_map(|l| l.parts.iter().enumerate().map(move |(q, b)| (b, DIGEST * l.part.min(l.len - q * l.part) as u64))).collect();
        let mut words = self.finish(enc, &reads)?.into_iter();
        Ok(levels
            .iter()
            .map(|l| {
                let mut v = Vec::with_capacity(l.len);
                for _ in 0..l.parts.len() {
                    v.extend(words.next().unwrap_or_default().chunks_exact(8).map(digest_of));
                }
                v
            })
            .collect())
    }

    /// The CPU backend's `commit_mixed`: matrices of several heights in one tree, each group
    /// entering at its level, up to the cap.
    /// Matrices kept on this device ([`sigil_prover::Lde::resident`]) are read there; the others
    /// are uploaded.
    pub fn commit_mixed(&self, levels: &[(usize, Vec<&Lde>)], depth: usize, cap_log: usize) -> Result<MixedTree, GpuError> {
        if cap_log > depth {
            return Err(GpuError::Input(format!("a cap of 2^{cap_log} over a tree of depth {depth}")));
        }
        let max_part = self.max_items(DIGEST);
        let mut enc = self.encoder("mixed tree");
        let row_hashes = |enc: &mut wgpu::CommandEncoder, mats: &[&Lde], rows: usize| -> Result<Level, GpuError> {
            let width: usize = mats.iter().map(|m| m.width).sum();
            for m in mats {
                if m.values.len() != rows * m.width {
                    return Err(GpuError::Input(format!("a {}-element matrix of width {} entering a level of {rows} rows", m.values.len(), m.width)));
                }
            }
            let level = self.level("row hashes", rows, max_part)?;
            let on_device: Vec<Option<&DeviceMatrix>> = mats.iter().map(|m| self.resident(m)).collect();
            self.hash_rows(
                enc,
                &level,
                width,
                |j, out| {
                    for (m, d) in mats.iter().zip(&on_device) {
                        match d {
                            // Placed from the device below.
                            Some(_) => out.resize(out.len() + 2 * m.width, 0),
                            None => {
                                out.extend(m.values[j * m.width..(j + 1) * m.width].iter().flat_map(|&v| f_words(v)));
                            }
                        }
                    }
                },
                on_device.iter().all(Option::is_some),
                |enc, slice, first, k| {
                    let mut col = 0;
                    for (m, d) in mats.iter().zip(&on_device) {
                        for g in d.iter().flat_map(|d| &d.groups) {
                            let p = [(k * g.width) as u32, first as u32, g.width as u32, width as u32, (col + g.col0) as u32];
                            self.dispatch(enc, &self.kernels.place, &[&g.buffer, slice], &p, k * g.width);
                        }
                        col += m.width;
                    }
                },
            )?;
            Ok(level)
        };
        let top: &[&Lde] = levels.first().map_or(&[], |(_, m)| m.as_slice());
        let mut done = vec![row_hashes(&mut enc, top, 1usize << depth)?];
        for s in 1..=depth - cap_log {
            let below = done.last().ok_or_else(|| GpuError::Input("empty tree".into()))?;
            let mut next = self.mixed_parents(&mut enc, below, max_part)?;
            if let Some((_, mats)) = levels.iter().find(|(l, _)| *l == s) {
                let rows = row_hashes(&mut enc, mats, 1usize << (depth - s))?;
                let joined = self.level("tree level", next.len, max_part)?;
                for q in 0..joined.parts.len() {
                    self.hash_pairs(&mut enc, &next.parts[q], 0, 1, &rows.parts[q], 0, 1, &joined.parts[q], 0, joined.part.min(joined.len));
                }
                next = joined;
            }
            done.push(next);
        }
        // The levels below the base are not kept (the prover recomputes the few nodes an
        // opening needs): neither read back nor held.
        let base = sigil_verifier::merkle::mixed_tree_base(depth, cap_log);
        Ok(MixedTree { levels: self.read_levels(enc, &done[base..])?, base })
    }

    /// The CPU backend's `commit_ext_cosets`: leaf `j < N / 2^log_arity` holds
    /// `evals[j + i * N / 2^log_arity]` for every `i`, in a heap-ordered tree.
    pub fn commit_ext_cosets(&self, evals: &[EF], log_arity: usize) -> Result<MerkleTree, GpuError> {
        let m = evals.len() >> log_arity;
        let a = 1usize << log_arity;
        if m == 0 || !m.is_power_of_two() || m << log_arity != evals.len() {
            return Err(GpuError::Input(format!("{} evaluations folded by {a}", evals.len())));
        }
        let max_part = self.max_items(DIGEST);
        let mut enc = self.encoder("fri layer tree");
        let leaves = self.level("leaves", m, max_part)?;
        self.hash_rows(
            &mut enc,
            &leaves,
            2 * a,
            |j, out| {
                out.extend((0..a).flat_map(|i| ef_words(evals[j + i * m])));
            },
            false,
            |_, _, _, _| {},
        )?;
        let mut done = vec![leaves];
        while done.last().is_some_and(|l| l.len > 1) {
            let below = done.last().ok_or_else(|| GpuError::Input("empty tree".into()))?;
            let up = self.heap_parents(&mut enc, below, max_part)?;
            done.push(up);
        }
        let levels = self.read_levels(enc, &done)?;
        // Heap order: node 0 unused, the root at 1, the level of width w at [w, 2w).
        let mut nodes = vec![[0u8; 32]; 2 * m];
        for l in levels {
            let w = l.len();
            nodes[w..2 * w].copy_from_slice(&l);
        }
        Ok(MerkleTree { nodes })
    }
}
