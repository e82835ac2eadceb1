//! The quotient kernel against the CPU backend, bit for bit, on a chip written to use every
//! instruction of the program (base, extension and mixed arithmetic, constants, publics,
//! challenges, selectors, preprocessed and auxiliary columns, interactions both ways in
//! several LogUp batchings, constraints between interactions); on LDEs uploaded and kept on
//! the device, at several heights and blowups; and past the binding limit. The corpus
//! models' chips are compared in `tests/tests/gpu.rs`.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use p3_field::PrimeCharacteristicRing;
use p3_matrix::dense::RowMajorMatrix;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sigil_air::field::ef_from_base;
use sigil_air::{Air, AirBuilder, EF, F, FieldExpr, LookupChallenges};
use sigil_gpu::{Gpu, GpuBackend, GpuError, P, QuotientKernel};
use sigil_prover::backend::{NttOps, QuotientInputs, QuotientOps};
use sigil_prover::{CpuBackend, Lde};
use sigil_verifier::protocol::lde_shift;

/// A context that compiles every generated pipeline when first needed.
fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        let mut g = Gpu::new().unwrap_or_else(|e| panic!("{e} (install a Vulkan driver: apt-get install mesa-vulkan-drivers libvulkan1)"));
        g.use_quotient_kernel(QuotientKernel::Generated);
        g
    })
}

/// A context that interprets every quotient program.
fn interpreting() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        let mut g = Gpu::new().unwrap();
        g.use_quotient_kernel(QuotientKernel::Interpreted);
        g
    })
}

/// Every kind of value and operation a chip can write.
struct EveryOp;

impl Air for EveryOp {
    fn name(&self) -> String {
        "every-op".into()
    }
    fn width(&self) -> usize {
        3
    }
    fn n_challenges(&self) -> usize {
        2
    }
    fn aux_width(&self) -> usize {
        2
    }
    fn eval<B: AirBuilder>(&self, b: &mut B) {
        let (x, y, z) = (b.main(0), b.main(1), b.main_next(2));
        let (p, pn, k) = (b.prep(0), b.prep_next(1), b.public(0));
        b.assert_zero("base", (x.clone() + y.clone()) * (z.clone() - p.clone()) - (-pn.clone()) * k.clone() + B::Var::lit(3));
        b.send(1, &[x.clone(), y.clone()], z.clone());
        b.assert_zero("selectors", b.is_first_row() * x.clone() + b.is_last_row() * y.clone() + b.is_transition() * z.clone());
        b.receive(2, std::slice::from_ref(&p), B::Var::lit(1));
        b.assert_bool("bool", x.clone());
        // Constant: folded on the host.
        b.assert_zero("constant", B::Var::lit(5) * B::Var::lit(7) - k.clone() * B::Var::lit(0));
        let (c0, c1) = (b.challenge(0), b.challenge(1));
        let (a0, a1n) = (b.aux(0), b.aux_next(1));
        let (xe, ye, ze): (B::Ext, B::Ext, B::Ext) = (x.clone().into(), y.clone().into(), z.clone().into());
        b.assert_zero_ext("ext", (a0.clone() + c0.clone()) * (a1n.clone() - c1.clone()) + (-a0.clone()));
        b.send(1, std::slice::from_ref(&k), x.clone());
        // Mixed: extension op base, base op extension, each way.
        b.assert_zero_ext("mixed", a0.clone() * ye.clone() + ze.clone() * c1.clone() - (xe.clone() - a1n.clone()) + (a0.clone() - ye.clone()) + (ze + c0.clone()) + (a1n + xe));
        b.receive(3, &[x.clone(), y.clone(), z.clone()], pn.clone());
        b.send(4, &[], B::Var::lit(2));
        b.assert_zero("last", -(x * y) - z);
    }
}

fn rand_f(rng: &mut SmallRng) -> F {
    F::from_u64(rng.gen_range(0..P))
}

fn rand_ef(rng: &mut SmallRng) -> EF {
    ef_from_base([rand_f(rng), rand_f(rng)])
}

fn matrix(rng: &mut SmallRng, rows: usize, width: usize) -> RowMajorMatrix<F> {
    RowMajorMatrix::new((0..rows * width).map(|_| rand_f(rng)).collect(), width)
}

struct Case {
    log_n: usize,
    log_q: usize,
    log_blowup: usize,
    batches: Vec<usize>,
}

/// The CPU's and the device's quotients of `EveryOp` on random data, with the LDEs made by
/// `make` (host or device).
fn compare(g: &Gpu, case: &Case, seed: u64, make: &dyn Fn(RowMajorMatrix<F>, usize) -> Lde) -> Result<(Vec<EF>, Vec<EF>), GpuError> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let n = 1usize << case.log_n;
    // One LogUp column per batch (the last is the running sum), then the two auxiliary columns.
    let perm_width = 2 * (case.batches.len() + 2);
    let main = make(matrix(&mut rng, n, 3), case.log_blowup);
    let prep = make(matrix(&mut rng, n, 2), case.log_blowup);
    let perm = make(matrix(&mut rng, n, perm_width), case.log_blowup);
    let publics = [rand_f(&mut rng)];
    let challenges = [rand_ef(&mut rng), rand_ef(&mut rng)];
    let inputs = QuotientInputs {
        log_n: case.log_n,
        log_quotient_degree: case.log_q,
        log_blowup: case.log_blowup,
        main_lde: &main,
        prep_lde: Some(&prep),
        perm_lde: Some(&perm),
        publics: &publics,
        alpha: rand_ef(&mut rng),
        lookup: LookupChallenges { beta: rand_ef(&mut rng), gamma: rand_ef(&mut rng) },
        challenges: &challenges,
        aux_width: 2,
        cumulative_sum: rand_ef(&mut rng),
        logup_batches: &case.batches,
    };
    let want = CpuBackend::default().quotient_values(&EveryOp, &inputs);
    let program = sigil_gpu::compile_quotient(&EveryOp, &inputs).unwrap();
    let ops: BTreeSet<u32> = program.code.chunks_exact(4).map(|i| i[0]).collect();
    assert_eq!(ops, (0..20).collect::<BTreeSet<u32>>(), "the test chip does not use every instruction");
    Ok((g.quotient_values(&EveryOp, &inputs)?, want))
}

fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    // Five interactions: in batches of 2 and 3; one each; a full batch and one more; fewer
    // batches than interactions (the rest in no batch, as the CPU's folder leaves them).
    for batches in [vec![2, 3], vec![1, 1, 1, 1, 1], vec![4, 1], vec![3]] {
        for (log_n, log_q, log_blowup) in [(3, 1, 1), (6, 1, 3), (5, 2, 2), (4, 2, 4), (10, 3, 3)] {
            v.push(Case { log_n, log_q, log_blowup, batches: batches.clone() });
        }
    }
    v
}

#[test]
fn every_instruction_matches_the_cpu_on_uploaded_ldes() {
    for (g, kind) in [(gpu(), "generated"), (interpreting(), "interpreted")] {
        for (k, case) in cases().iter().enumerate() {
            let (got, want) = compare(g, case, k as u64, &|m, lb| Lde::host(CpuBackend::default().coset_lde(m, lb, lde_shift()).into_matrix())).unwrap();
            assert!(got == want, "{kind}: 2^{} rows, quotient 2^{}, blowup 2^{}, batches {:?}: differs", case.log_n, case.log_q, case.log_blowup, case.batches);
        }
    }
}

#[test]
fn tiered_quotients_are_interpreted_until_the_generated_pipeline_is_ready() {
    // The default: the first use interprets and starts the compile in the background; once
    // the pipeline is ready, the generated code runs. The same values throughout.
    let g = Gpu::new().unwrap();
    let case = Case { log_n: 6, log_q: 1, log_blowup: 2, batches: vec![2, 3] };
    let host = |m, lb| Lde::host(CpuBackend::default().coset_lde(m, lb, lde_shift()).into_matrix());
    let (got, want) = compare(&g, &case, 1, &host).unwrap();
    assert!(got == want, "the first (interpreted) quotient differs");
    let t = std::time::Instant::now();
    while g.quotient_pipelines() < 2 {
        assert!(t.elapsed().as_secs() < 300, "the generated pipeline was not built in 5 minutes");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (got, want) = compare(&g, &case, 1, &host).unwrap();
    assert!(got == want, "the generated quotient differs");
}

#[test]
fn every_instruction_matches_the_cpu_on_ldes_kept_on_the_device() {
    let backend = GpuBackend::new(std::sync::Arc::new(Gpu::new().unwrap()), 0);
    for (k, case) in cases().iter().enumerate() {
        let (got, want) = compare(backend.gpu(), case, 100 + k as u64, &|m, lb| {
            let l = backend.coset_lde(m, lb, lde_shift());
            assert!(l.resident.is_some());
            l
        })
        .unwrap();
        assert!(got == want, "2^{} rows, quotient 2^{}, blowup 2^{}, batches {:?}: differs", case.log_n, case.log_q, case.log_blowup, case.batches);
    }
}

#[test]
fn past_the_binding_limit_the_quotient_is_left_to_the_cpu() {
    // Bindings of 4 KiB: device LDEs in several column groups are read from the host's rows;
    // rows of the quotient domain past 4 KiB are refused as unsupported, not as a fault, and
    // the backend computes them on the CPU without falling back for good.
    let mut g = Gpu::new().unwrap();
    g.limit_bindings(4096);
    let backend = GpuBackend::new(std::sync::Arc::new(g), 0);
    let small = Case { log_n: 4, log_q: 1, log_blowup: 3, batches: vec![2, 3] };
    let (got, want) = compare(backend.gpu(), &small, 7, &|m, lb| backend.coset_lde(m, lb, lde_shift())).unwrap();
    assert!(got == want);
    let large = Case { log_n: 9, log_q: 1, log_blowup: 1, batches: vec![2, 3] };
    match compare(backend.gpu(), &large, 8, &|m, lb| Lde::host(CpuBackend::default().coset_lde(m, lb, lde_shift()).into_matrix())) {
        Err(GpuError::Unsupported(why)) => assert!(why.contains("binding limit"), "{why}"),
        other => panic!("expected unsupported, got {:?}", other.map(|_| ())),
    }
    let before = backend.placement();
    let mut rng = SmallRng::seed_from_u64(3);
    let main = Lde::host(matrix(&mut rng, 1 << 10, 3));
    let inputs = QuotientInputs {
        log_n: 9,
        log_quotient_degree: 1,
        log_blowup: 1,
        main_lde: &main,
        prep_lde: None,
        perm_lde: None,
        publics: &[F::ONE],
        alpha: rand_ef(&mut rng),
        lookup: LookupChallenges { beta: EF::ONE, gamma: EF::ONE },
        challenges: &[],
        aux_width: 0,
        cumulative_sum: EF::ZERO,
        logup_batches: &[],
    };
    struct MainOnly;
    impl Air for MainOnly {
        fn name(&self) -> String {
            "main-only".into()
        }
        fn width(&self) -> usize {
            3
        }
        fn eval<B: AirBuilder>(&self, b: &mut B) {
            b.assert_zero("c", b.main(0) * b.main_next(1) - b.main(2) * b.public(0));
        }
    }
    assert!(backend.quotient_values(&MainOnly, &inputs) == CpuBackend::default().quotient_values(&MainOnly, &inputs));
    let after = backend.placement();
    assert_eq!((after.on_cpu, after.on_gpu, after.fell_back), (before.on_cpu + 1, before.on_gpu, false), "{after:?}");
}
