//! Proving keys on disk. A key's costly part is the low-degree extension of the preprocessed
//! columns and its Merkle tree (for dsperse-net, 0.2 s of a 0.9 s `sigil prove`); both depend
//! only on the circuit, so a prover that proves the same model again reads them back.
//!
//! # Format
//! `KEY_CACHE_MAGIC`, the caller's 32-byte tag (a hash of everything the key depends on), then per
//! table a flag (u64: 1 when it has preprocessed columns) followed by the LDE's width and
//! height (u64 each) and its values (u64, canonical), then per tree its number of stored
//! levels (from `mixed_tree_base` up) and each level's digests (count, then 32 bytes each),
//! all little-endian, and last the keyed
//! Blake3 hash of everything before it, under the cache's secret (a key kept outside the cache
//! directory, `sigil_onnx::circuit::cache_secret`). A file is used only when its tag, the keyed
//! hash and every shape (against the circuit) match; anything else is a miss and the key is
//! rebuilt. A key read back is the key computed afresh, byte for byte: the circuit id is
//! recomputed from its caps, so a file is authenticated, not merely checked for damage: one
//! written by anyone without the secret (another model's key under this model's tag, say)
//! is refused.
//!
//! Every field is a multiple of 8 bytes, so every LDE's values start 8-byte aligned in the
//! file: [`ProvingKey::read_cache_file`] maps the file and reads the LDEs in place
//! ([`crate::mapped`]), authenticated by the same keyed hash (over the mapped bytes) and used
//! as they are (they are the canonical values this cache wrote).

use std::fs::File;
use std::io::{self, Read, Write};

use p3_matrix::dense::RowMajorMatrix;
use sigil_air::field::f_to_u64;
use sigil_air::{F, Trace};
use sigil_verifier::Circuit;
use sigil_verifier::hash::Digest;
use sigil_verifier::merkle::{MixedTree, mixed_tree_base};

use crate::backend::Lde;
use crate::mapped::{MappedElements, Mapping};
use crate::prove::ProvingKey;

/// The first bytes of a cached key.
pub const KEY_CACHE_MAGIC: &[u8; 8] = b"SIGILPK4";

/// A writer that hashes what it writes.
struct Hashing<W> {
    inner: W,
    hasher: blake3::Hasher,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

impl ProvingKey {
    /// Writes the key's preprocessed data to `w` under `tag`, authenticated with `secret`
    /// (see the module's docs).
    pub fn write_cache(&self, tag: &[u8; 32], secret: &[u8; 32], w: impl Write) -> io::Result<()> {
        let mut w = Hashing {
            inner: io::BufWriter::with_capacity(1 << 20, w),
            hasher: blake3::Hasher::new_keyed(secret),
        };
        w.write_all(KEY_CACHE_MAGIC)?;
        w.write_all(tag)?;
        let mut buf = Vec::new();
        for lde in self.prep_ldes() {
            match lde {
                None => w.write_all(&0u64.to_le_bytes())?,
                Some(m) => {
                    w.write_all(&1u64.to_le_bytes())?;
                    w.write_all(&(m.width as u64).to_le_bytes())?;
                    w.write_all(&((m.values.len() / m.width.max(1)) as u64).to_le_bytes())?;
                    for chunk in m.values.chunks(1 << 16) {
                        buf.clear();
                        buf.extend(chunk.iter().flat_map(|v| f_to_u64(*v).to_le_bytes()));
                        w.write_all(&buf)?;
                    }
                }
            }
        }
        for tree in self.prep_trees() {
            w.write_all(&(tree.levels.len() as u64).to_le_bytes())?;
            for level in &tree.levels {
                w.write_all(&(level.len() as u64).to_le_bytes())?;
                w.write_all(level.as_flattened())?;
            }
        }
        let digest = *w.hasher.finalize().as_bytes();
        w.inner.write_all(&digest)?;
        w.inner.flush()
    }

    /// Reads a key of `circuit` written by [`ProvingKey::write_cache`] under `tag` and
    /// `secret`, copying its values into memory; when the bytes are not such a key (another
    /// tag, another shape, a damaged or forged file), the error and the circuit back.
    pub fn read_cache(
        circuit: Circuit,
        tag: &[u8; 32],
        secret: &[u8; 32],
        mut r: impl Read,
    ) -> Result<Self, (Box<Circuit>, io::Error)> {
        let mut bytes = Vec::new();
        let parts = r.read_to_end(&mut bytes).and_then(|_| {
            read_parts(&circuit, tag, secret, &bytes, &|offset, len, width| {
                let values = bytes[offset..offset + 8 * len].chunks_exact(8).map(|c| F::new(u64::from_le_bytes(c.try_into().expect("8 bytes")))).collect();
                Some(Lde::host(RowMajorMatrix::new(values, width)))
            })
        });
        Self::from_read(circuit, parts)
    }

    /// As [`ProvingKey::read_cache`] from a file, which is mapped: the LDEs are read in place
    /// ([`crate::mapped`]), not copied.
    pub fn read_cache_file(circuit: Circuit, tag: &[u8; 32], secret: &[u8; 32], file: &File) -> Result<Self, (Box<Circuit>, io::Error)> {
        let parts = Mapping::of(file).and_then(|map| {
            read_parts(&circuit, tag, secret, map.bytes(), &|offset, len, width| {
                MappedElements::new(map.clone(), offset, len).map(|m| Lde::mapped(m, width))
            })
        });
        Self::from_read(circuit, parts)
    }

    /// The key of `circuit` from the parts read back, or the error and the circuit.
    fn from_read(circuit: Circuit, parts: io::Result<Parts>) -> Result<Self, (Box<Circuit>, io::Error)> {
        match parts {
            Ok((traces, ldes, trees)) => Ok(ProvingKey::from_parts(circuit, traces, ldes, trees)),
            Err(e) => Err((Box::new(circuit), e)),
        }
    }
}

type Parts = (Vec<Option<Trace>>, Vec<Option<Lde>>, Vec<MixedTree>);

/// The file's bytes from the front, checked against its length.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| invalid("the file ends early"))?;
        let b = &self.bytes[self.at..end];
        self.at = end;
        Ok(b)
    }
    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
}

/// Parses a key file's `bytes`; `lde(offset, len, width)` makes an LDE of the `len` values at
/// byte `offset` (none when it cannot: a misaligned mapping).
///
/// The trees (whose caps make the circuit id) and the stored hash are copied out of `bytes`
/// before the hash is checked, and the hash covers the copies: when `bytes` is a mapping that
/// someone rewrites in place during the check, what the key uses of the trees is still what
/// the hash authenticated. (The LDEs are read where they are: changed later, they could only
/// make this prover's openings disagree with its authenticated commitments, and its proofs
/// fail to verify.)
fn read_parts(
    circuit: &Circuit,
    tag: &[u8; 32],
    secret: &[u8; 32],
    bytes: &[u8],
    lde: &dyn Fn(usize, usize, usize) -> Option<Lde>,
) -> io::Result<Parts> {
    let body_len = bytes.len().checked_sub(32).ok_or_else(|| invalid("not a cached proving key"))?;
    let mut r = Cursor { bytes: &bytes[..body_len], at: 0 };
    if r.take(8)? != KEY_CACHE_MAGIC {
        return Err(invalid("not a cached proving key"));
    }
    if r.take(32)? != tag {
        return Err(invalid("a key for other settings"));
    }
    let lb = usize::from(circuit.options.log_blowup);
    let prep_traces: Vec<Option<Trace>> = circuit.chips.iter().map(|c| c.preprocessed_trace()).collect();
    // The LDEs' places (checked against the circuit's shapes).
    let mut places = Vec::with_capacity(prep_traces.len());
    for (t, p) in prep_traces.iter().enumerate() {
        let flag = r.u64()?;
        let want = p.as_ref().map(|p| (p.width, 1usize << (circuit.log_heights[t] + lb)));
        match (flag, want) {
            (0, None) => places.push(None),
            (1, Some((width, height))) => {
                if r.u64()? != width as u64 || r.u64()? != height as u64 {
                    return Err(invalid("a table's preprocessed shape differs"));
                }
                places.push(Some((r.at, width)));
                r.take(8 * width * height)?;
            }
            _ => return Err(invalid("a table's preprocessed columns differ")),
        }
    }
    let trees_at = r.at;
    let trees = bytes[trees_at..body_len].to_vec();
    let stored: [u8; 32] = bytes[body_len..].try_into().expect("32 bytes");
    let digest = *blake3::Hasher::new_keyed(secret).update_rayon(&bytes[..trees_at]).update(&trees).finalize().as_bytes();
    // Compared in constant time: the hash is a MAC.
    if blake3::Hash::from(digest) != stored {
        return Err(invalid("the file is damaged or was not written with this cache's secret (its keyed hash differs)"));
    }
    let mut prep_ldes = Vec::with_capacity(places.len());
    for (t, place) in places.into_iter().enumerate() {
        prep_ldes.push(match place {
            None => None,
            Some((offset, width)) => {
                let len = width << (circuit.log_heights[t] + lb);
                Some(lde(offset, len, width).ok_or_else(|| invalid("a table's values are not aligned"))?)
            }
        });
    }
    let mut r = Cursor { bytes: &trees, at: 0 };
    let mut prep_tree = Vec::with_capacity(circuit.layout.prep.len());
    for tl in &circuit.layout.prep {
        let n_levels = r.u64()? as usize;
        let base = mixed_tree_base(tl.depth, tl.cap_log);
        if n_levels != tl.depth - tl.cap_log + 1 - base {
            return Err(invalid("a tree's depth differs"));
        }
        let mut levels = Vec::with_capacity(n_levels);
        for s in base..base + n_levels {
            let len = r.u64()? as usize;
            if len != 1usize << (tl.depth - s) {
                return Err(invalid("a tree level's size differs"));
            }
            levels.push(r.take(32 * len)?.chunks_exact(32).map(|c| Digest::try_from(c).expect("32 bytes")).collect());
        }
        prep_tree.push(MixedTree { levels, base });
    }
    if r.at != trees.len() {
        return Err(invalid("the file has bytes past the key"));
    }
    Ok((prep_traces, prep_ldes, prep_tree))
}
