//! Decoding costs what the circuit says, not what the bytes say: a crafted 63 MiB proof (a
//! valid header and heights, then zeros, the shape of a count followed by that many empty
//! items) is refused before anything is allocated. Peak memory is measured by a counting
//! allocator around the call, not by a timer.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use sigil_prover::{CpuBackend, ProverConfig, ProvingKey, examples, prove};
use sigil_verifier::proof::HEADER_BYTES;
use sigil_verifier::{ProofOptions, VerifierOptions, VerifyError, verify};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts bytes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        PEAK.fetch_max(now, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes allocated at the peak of `f`, above what was live when it started.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let r = f();
    (r, PEAK.load(Ordering::SeqCst) - base)
}

#[test]
fn crafted_63_mib_proof_is_refused_without_allocating() {
    let ex = examples::transfer(12, 10, 1, ProofOptions::default()).unwrap();
    let pk = ProvingKey::new(ex.circuit, &CpuBackend::default()).unwrap();
    let honest = prove(&pk, ex.traces, &ex.publics, &CpuBackend::default(), &ProverConfig::default()).unwrap().to_bytes();
    let v = VerifierOptions::default();

    let mut crafted = honest[..HEADER_BYTES + 4].to_vec();
    crafted.resize(63 << 20, 0);
    let (r, peak) = peak_during(|| verify(&pk.circuit, &pk.circuit_id, &ex.publics, &crafted, &v));
    assert_eq!(r, Err(VerifyError::WrongSize { expected: honest.len(), found: 63 << 20 }));
    eprintln!("crafted {} bytes: refused, {peak} bytes allocated", crafted.len());
    assert!(peak < 4096, "refusing the crafted proof allocated {peak} bytes");

    // The honest proof, for scale: decoding and verifying allocate a few times its size.
    let (r, peak) = peak_during(|| verify(&pk.circuit, &pk.circuit_id, &ex.publics, &honest, &v));
    r.unwrap();
    eprintln!("honest {} bytes: verified, {peak} bytes allocated at the peak", honest.len());
    assert!(peak < 16 * honest.len(), "verifying the {}-byte proof allocated {peak} bytes", honest.len());
}
