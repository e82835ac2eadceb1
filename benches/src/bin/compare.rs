//! Sigil against winterfell on the same multiply-accumulate chain, same machine, same run,
//! same conjectured security (blowup 8, 28 queries, 16 grinding bits, quadratic extension).
//!
//! `cargo run --release -p sigil-benches --bin compare -- [LOG_N ...] [--runs R]`
//! prints one row per size with the median of R runs (default 3).

use std::time::Instant;

use sigil_benches::winterfell_mac;
use sigil_prover::{CpuBackend, ProverConfig, ProvingKey, examples, prove};
use sigil_verifier::{ProofOptions, VerifierOptions, verify};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let mut sizes = vec![];
    let mut runs = 3;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--runs" {
            runs = args.next().and_then(|r| r.parse().ok()).unwrap_or(3);
        } else if let Ok(n) = a.parse::<usize>() {
            sizes.push(n);
        } else {
            eprintln!("usage: compare [LOG_N ...] [--runs R]");
            std::process::exit(2);
        }
    }
    if sizes.is_empty() {
        sizes = vec![16, 18, 20];
    }
    println!("| rows | Sigil prove | winterfell prove | ratio | Sigil verify | winterfell verify | Sigil proof | winterfell proof | size ratio |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let backend = CpuBackend::default();
    for log_n in sizes {
        let (mut sp, mut wp, mut sv, mut wv) = (vec![], vec![], vec![], vec![]);
        let (mut s_size, mut w_size) = (0, 0);
        for _ in 0..runs {
            let ex = examples::mac(log_n, 1, ProofOptions::default()).expect("example");
            let pk = ProvingKey::new(ex.circuit, &backend).expect("key");
            let t = Instant::now();
            let proof = prove(&pk, ex.traces, &ex.publics, &backend, &ProverConfig { check_constraints: false, log_timings: false })
                .expect("prove");
            sp.push(t.elapsed().as_secs_f64());
            let bytes = proof.to_bytes();
            s_size = bytes.len();
            let t = Instant::now();
            verify(&pk.circuit, &pk.circuit_id, &ex.publics, &bytes, &VerifierOptions::default()).expect("verify");
            sv.push(t.elapsed().as_secs_f64());

            let trace = winterfell_mac::trace(log_n, 1);
            let last = trace.get(0, (1 << log_n) - 1);
            let t = Instant::now();
            let wproof = winterfell_mac::prove(trace);
            wp.push(t.elapsed().as_secs_f64());
            w_size = wproof.to_bytes().len();
            let t = Instant::now();
            assert!(winterfell_mac::verify(wproof, last));
            wv.push(t.elapsed().as_secs_f64());
        }
        let (sp, wp, sv, wv) = (median(sp), median(wp), median(sv), median(wv));
        println!(
            "| 2^{log_n} | {sp:.2} s | {wp:.2} s | {:.2} | {:.2} ms | {:.2} ms | {} KB | {} KB | {:.2} |",
            sp / wp,
            sv * 1e3,
            wv * 1e3,
            s_size / 1000,
            w_size / 1000,
            s_size as f64 / w_size as f64
        );
    }
}
