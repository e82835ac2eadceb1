//! Field elements read in place from a memory-mapped file: a cached proving key's LDEs.
//!
//! A key read into fresh memory costs a page fault, a zeroed page and a copy per 4 KiB (or
//! 2 MiB) of it; on this project's 2-vCPU machine dsperse-age's 1.0 GB key took about a
//! second and most of a proof's system time. Mapped, the page cache's pages are the key: the
//! kernel maps them (populated in one call), nothing is zeroed or copied, and a second prover
//! of the same model shares them.

// Mapping a file and viewing its bytes as field elements are the two unsafe steps; each
// states what makes it sound.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::sync::Arc;

use sigil_air::F;

/// A read-only mapping of a whole file.
#[derive(Debug)]
pub struct Mapping(memmap2::Mmap);

impl Mapping {
    /// Maps `file` read-only, its pages populated up front.
    ///
    /// # Soundness (memory)
    /// The mapping is private and read-only. Its bytes could still change if someone rewrote
    /// the file in place: the key cache never does (a key is written to a temporary file and
    /// renamed over the old one, so a mapped inode is never written again), and any `u64` is a
    /// valid [`F`] (Goldilocks keeps non-canonical values), so such a change could only alter
    /// values, never make one invalid; a file cut short under the mapping faults the process
    /// (`SIGBUS`), a denial of service open only to whoever can already write this process's
    /// cache files in place. What a changed value can do to a proof: `key_cache::read_parts`.
    pub fn of(file: &File) -> io::Result<Arc<Self>> {
        // SAFETY: see above: the file is not modified while mapped by anything of ours, and
        // every bit pattern of the mapped bytes is a valid value of the types read from it.
        let map = unsafe { memmap2::MmapOptions::new().populate().map(file)? };
        Ok(Arc::new(Self(map)))
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// `len` field elements stored at byte `offset` of a mapping, little-endian `u64` each.
#[derive(Clone, Debug)]
pub struct MappedElements {
    map: Arc<Mapping>,
    offset: usize,
    len: usize,
}

impl MappedElements {
    /// The `len` elements at byte `offset` of `map`; `None` unless they lie inside it, start at
    /// a multiple of 8 bytes from the mapping's (page-aligned) start, and the machine stores
    /// `u64` little-endian (as the file does).
    pub fn new(map: Arc<Mapping>, offset: usize, len: usize) -> Option<Self> {
        let end = len.checked_mul(8)?.checked_add(offset)?;
        let aligned = (map.bytes().as_ptr() as usize + offset).is_multiple_of(align_of::<F>());
        (cfg!(target_endian = "little") && end <= map.bytes().len() && aligned).then_some(Self { map, offset, len })
    }
}

impl Deref for MappedElements {
    type Target = [F];
    fn deref(&self) -> &[F] {
        let bytes = &self.map.bytes()[self.offset..self.offset + 8 * self.len];
        // SAFETY: `new` checked that the bytes lie inside the mapping, start aligned for `F`
        // and are little-endian `u64`s; `F` (Goldilocks) is `#[repr(transparent)]` over a
        // `u64` and every `u64` is a valid value of it. The slice borrows `self`, which keeps
        // the mapping alive.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<F>(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p3_field::PrimeCharacteristicRing;
    use std::io::Write;

    #[test]
    fn mapped_elements_are_the_files_values_and_only_whole_aligned_ones() {
        let path = std::env::temp_dir().join(format!("sigil-mapped-{}", std::process::id()));
        let values: Vec<u64> = vec![1, 2, 0xffff_ffff_0000_0000, 7];
        let mut f = File::create(&path).unwrap();
        f.write_all(&[9u8; 8]).unwrap();
        for v in &values {
            f.write_all(&v.to_le_bytes()).unwrap();
        }
        drop(f);
        let map = Mapping::of(&File::open(&path).unwrap()).unwrap();
        let m = MappedElements::new(map.clone(), 8, 4).unwrap();
        let want: Vec<F> = values.iter().map(|&v| F::from_u64(v)).collect();
        assert_eq!(&*m, &want[..]);
        assert!(MappedElements::new(map.clone(), 4, 1).is_none(), "misaligned");
        assert!(MappedElements::new(map.clone(), 8, 5).is_none(), "past the end");
        assert!(MappedElements::new(map, usize::MAX - 7, 2).is_none(), "overflow");
        let _ = std::fs::remove_file(path);
    }
}
