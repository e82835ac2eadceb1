//! Bounded reads: no file, whatever its kind, makes Sigil hold more than it allows.

use std::path::Path;

/// Reads at most `max` bytes of the file at `path`, whatever kind of file it is (a FIFO or a
/// device such as `/dev/zero` reports no size, so its metadata bounds nothing): an error once
/// it has more, before more than `max + 1` bytes are held.
pub fn read_bounded(path: &Path, max: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path)?;
    let mut out = Vec::new();
    f.take(max as u64 + 1).read_to_end(&mut out)?;
    if out.len() > max {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("more than {max} bytes (the most this file can hold here)")));
    }
    Ok(out)
}
