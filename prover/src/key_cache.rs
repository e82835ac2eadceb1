//! Proving keys on disk. A key's costly part is the low-degree extension of the preprocessed
//! columns and its Merkle tree (for dsperse-net, 0.2 s of a 0.9 s `sigil prove`); both depend
//! only on the circuit, so a prover that proves the same model again reads them back.
//!
//! # Format
//! `KEY_CACHE_MAGIC`, the caller's 32-byte tag (a hash of everything the key depends on), then per
//! table a flag byte (1 when it has preprocessed columns) followed by the LDE's width and
//! height (u64 each) and its values (u64, canonical), then per tree its number of stored
//! levels (from `mixed_tree_base` up) and each level's digests (count, then 32 bytes each),
//! all little-endian, and last the keyed
//! Blake3 hash of everything before it, under the cache's secret (a key kept outside the cache
//! directory, `sigil_onnx::circuit::cache_secret`). A file is used only when its tag, every shape
//! (against the circuit) and the keyed hash match; anything else is a miss and the key is
//! rebuilt. A key read back is the key computed afresh, byte for byte: the circuit id is
//! recomputed from its caps, so a file is authenticated, not merely checked for damage: one
//! written by anyone without the secret (another model's key under this model's tag, say)
//! is refused.

use std::io::{self, Read, Write};

use p3_matrix::dense::RowMajorMatrix;
use sigil_air::field::{f_from_canonical, f_to_u64};
use sigil_air::{F, Trace};
use sigil_verifier::Circuit;
use sigil_verifier::hash::Digest;
use sigil_verifier::merkle::{MixedTree, mixed_tree_base};

use crate::prove::ProvingKey;

/// The first bytes of a cached key.
pub const KEY_CACHE_MAGIC: &[u8; 8] = b"SIGILPK3";

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

/// A reader that hashes what it reads.
struct Hashed<R> {
    inner: R,
    hasher: blake3::Hasher,
}

impl<R: Read> Hashed<R> {
    fn bytes(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; n];
        self.inner.read_exact(&mut buf)?;
        self.hasher.update(&buf);
        Ok(buf)
    }
    /// `n` canonical field elements, read in pieces straight into their vector.
    fn elements(&mut self, n: usize) -> io::Result<Vec<F>> {
        const PIECE: usize = 1 << 17;
        let mut out = Vec::with_capacity(n);
        let mut buf = vec![0u8; 8 * PIECE.min(n)];
        while out.len() < n {
            let k = PIECE.min(n - out.len());
            let b = &mut buf[..8 * k];
            self.inner.read_exact(b)?;
            self.hasher.update_rayon(b);
            for c in b.chunks_exact(8) {
                let v = u64::from_le_bytes(c.try_into().expect("8 bytes"));
                out.push(f_from_canonical(v).ok_or_else(|| invalid("a value is not a field element"))?);
            }
        }
        Ok(out)
    }

    fn u64(&mut self) -> io::Result<u64> {
        let b = self.bytes(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
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
                None => w.write_all(&[0])?,
                Some(m) => {
                    w.write_all(&[1])?;
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
    /// `secret`; when the bytes are not such a key (another tag, another shape, a damaged or
    /// forged file), the error and the circuit back.
    pub fn read_cache(
        circuit: Circuit,
        tag: &[u8; 32],
        secret: &[u8; 32],
        r: impl Read,
    ) -> Result<Self, (Box<Circuit>, io::Error)> {
        match read_parts(&circuit, tag, secret, r) {
            Ok((traces, ldes, trees)) => Ok(ProvingKey::from_parts(circuit, traces, ldes, trees)),
            Err(e) => Err((Box::new(circuit), e)),
        }
    }
}

type Parts = (
    Vec<Option<Trace>>,
    Vec<Option<crate::backend::Lde>>,
    Vec<MixedTree>,
);

fn read_parts(circuit: &Circuit, tag: &[u8; 32], secret: &[u8; 32], r: impl Read) -> io::Result<Parts> {
    let mut r = Hashed {
        inner: io::BufReader::with_capacity(1 << 20, r),
        hasher: blake3::Hasher::new_keyed(secret),
    };
    if r.bytes(8)? != KEY_CACHE_MAGIC {
        return Err(invalid("not a cached proving key"));
    }
    if r.bytes(32)? != tag {
        return Err(invalid("a key for other settings"));
    }
    let lb = usize::from(circuit.options.log_blowup);
    let prep_traces: Vec<Option<Trace>> = circuit
        .chips
        .iter()
        .map(|c| c.preprocessed_trace())
        .collect();
    let mut prep_ldes = Vec::with_capacity(prep_traces.len());
    for (t, p) in prep_traces.iter().enumerate() {
        let flag = r.bytes(1)?[0];
        let want = p
            .as_ref()
            .map(|p| (p.width, 1usize << (circuit.log_heights[t] + lb)));
        match (flag, want) {
            (0, None) => prep_ldes.push(None),
            (1, Some((width, height))) => {
                if r.u64()? != width as u64 || r.u64()? != height as u64 {
                    return Err(invalid("a table's preprocessed shape differs"));
                }
                let values = r.elements(width * height)?;
                prep_ldes.push(Some(crate::backend::Lde::host(RowMajorMatrix::new(values, width))));
            }
            _ => return Err(invalid("a table's preprocessed columns differ")),
        }
    }
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
            let bytes = r.bytes(32 * len)?;
            levels.push(
                bytes
                    .chunks_exact(32)
                    .map(|c| Digest::try_from(c).expect("32 bytes"))
                    .collect(),
            );
        }
        prep_tree.push(MixedTree { levels, base });
    }
    let digest = *r.hasher.finalize().as_bytes();
    let mut stored = [0u8; 32];
    r.inner.read_exact(&mut stored)?;
    if stored != digest || r.inner.read(&mut [0u8; 1])? != 0 {
        return Err(invalid("the file is damaged or was not written with this cache's secret (its keyed hash differs)"));
    }
    Ok((prep_traces, prep_ldes, prep_tree))
}
