//! The GPU backend's proofs equal the CPU backend's, byte for byte: the built-in circuits and
//! every corpus model the other tests prove (the proving key built on the GPU too: the same
//! circuit id). Every operation the GPU backend can take runs on the device here (no size
//! threshold) and none falls back; a device lost before or during a proof hands the rest to
//! the CPU, with the same proof. On lavapipe in CI; never skipped (no adapter fails).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use p3_matrix::dense::RowMajorMatrix;
use sigil_air::{Chip, EF, F};
use sigil_prover::backend::{DeepInputs, DeepOps, FriOps, Lde, MerkleOps, NttOps, QuotientInputs, QuotientOps};
use sigil_verifier::merkle::{MerkleTree, MixedTree};

use sigil_gpu::{Gpu, GpuBackend};
use sigil_prover::examples::{self, Example};
use sigil_onnx::circuit::{CompileOptions, CompiledModel};
use sigil_prover::{CpuBackend, ProverConfig, ProvingKey, prove};
use sigil_verifier::{ProofOptions, VerifierOptions, verify};

use p3_field::PrimeCharacteristicRing;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

fn gpu() -> Arc<Gpu> {
    static GPU: OnceLock<Arc<Gpu>> = OnceLock::new();
    GPU.get_or_init(|| {
        let g = Gpu::new().unwrap_or_else(|e| panic!("{e} (install a Vulkan driver: apt-get install mesa-vulkan-drivers libvulkan1)"));
        eprintln!("adapter: {}", g.describe());
        Arc::new(g)
    })
    .clone()
}

/// A GPU backend that takes every operation it can.
fn all_on_gpu() -> GpuBackend {
    GpuBackend::new(gpu(), 0)
}

/// The proof's bytes, the circuit id, and the circuit and statement to verify with.
fn proof_bytes(ex: Example, backend: &dyn sigil_prover::Backend) -> (Vec<u8>, [u8; 32], sigil_verifier::Circuit, Vec<sigil_air::F>) {
    let pk = ProvingKey::new(ex.circuit, backend).unwrap();
    let proof = prove(&pk, ex.traces, &ex.publics, backend, &ProverConfig::default()).unwrap();
    (proof.to_bytes(), pk.circuit_id, pk.circuit, ex.publics)
}

fn same_proof(name: &str, make: impl Fn() -> Example) {
    let g = all_on_gpu();
    let (cpu, cpu_id, _, _) = proof_bytes(make(), &CpuBackend::default());
    let (on_gpu, gpu_id, circuit, publics) = proof_bytes(make(), &g);
    assert_eq!(cpu_id, gpu_id, "{name}: the circuit id (preprocessed commitments) differs");
    assert!(cpu == on_gpu, "{name}: the GPU's proof differs from the CPU's");
    let p = g.placement();
    assert!(p.on_gpu > 0 && !p.fell_back, "{name}: {p:?}");
    let vopts = VerifierOptions { min_security_bits: 0, ..Default::default() };
    verify(&circuit, &gpu_id, &publics, &on_gpu, &vopts).unwrap();
}

#[test]
fn built_in_circuits_prove_byte_identically_on_the_gpu() {
    let fast = ProofOptions { log_blowup: 3, n_queries: 28, grinding_bits: 4, log_final_poly_len: 2, log_folding_factor: 3 };
    same_proof("mac 2^6", || examples::mac(6, 1, fast).unwrap());
    same_proof("mac 2^14, default options", || examples::mac(14, 2, ProofOptions::default()).unwrap());
    same_proof("four tables", || examples::transfer(7, 5, 3, fast).unwrap());
    same_proof("vecmat", || examples::vecmat(6, 5, 4, fast).unwrap());
    same_proof("dense", || examples::dense(5, 3, 5, fast).unwrap());
    same_proof("mlp", || examples::mlp(6, fast).unwrap());
    same_proof("stacked rescales", || examples::stacked_rescales(3, 3, 5, fast).unwrap());
    for fold in 1..=4 {
        let o = ProofOptions { log_folding_factor: fold, log_blowup: 1 + fold % 3, ..fast };
        same_proof(&format!("mac, folding 2^{fold}"), || examples::mac(9, 7, o).unwrap());
    }
}

fn corpus(name: &str) -> String {
    format!("{}/../../shared/models/{name}/model.onnx", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn corpus_models_prove_byte_identically_on_the_gpu() {
    for name in ["dsperse-net", "dsperse-doom", "sn2-reward-factor-v0", "sn2-reward-factor-v1", "sn2-reward-sim", "sn2-reward-legacy"] {
        let path = corpus(name);
        let cpu = CompiledModel::compile(&path, &CompileOptions::default()).unwrap();
        let backend = Arc::new(all_on_gpu());
        let on_gpu = CompiledModel::compile(&path, &CompileOptions { backend: backend.clone(), ..CompileOptions::default() }).unwrap();
        assert_eq!(cpu.circuit_id(), on_gpu.circuit_id(), "{name}: the key built on the GPU has another circuit id");
        let input = cpu.read_input(path.replace("model.onnx", "input.json")).unwrap();
        let a = cpu.prove(&input).unwrap();
        let b = on_gpu.prove(&input).unwrap();
        assert!(a.proof == b.proof, "{name}: the GPU's proof differs from the CPU's");
        on_gpu.verify(&b.statement, &b.proof).unwrap();
        let p = backend.placement();
        assert!(p.on_gpu > 0 && !p.fell_back, "{name}: {p:?}");
        eprintln!("{name}: {} bytes, the same; {} operations on the GPU, {} on the CPU", b.proof.len(), p.on_gpu, p.on_cpu);
    }
}

/// The GPU backend, its device destroyed (as a lost one) at the `lose_at`-th operation.
#[derive(Debug)]
struct LosesTheDevice {
    inner: GpuBackend,
    gpu: Arc<Gpu>,
    ops: AtomicUsize,
    lose_at: usize,
}

impl LosesTheDevice {
    fn tick(&self) {
        if self.ops.fetch_add(1, Ordering::Relaxed) + 1 == self.lose_at {
            self.gpu.destroy();
        }
    }
}

impl NttOps for LosesTheDevice {
    fn coset_lde(&self, m: RowMajorMatrix<F>, lb: usize, shift: F) -> Lde {
        self.tick();
        self.inner.coset_lde(m, lb, shift)
    }
    fn coset_interpolate(&self, m: RowMajorMatrix<F>, shift: F) -> RowMajorMatrix<F> {
        self.tick();
        self.inner.coset_interpolate(m, shift)
    }
    fn coset_evaluate(&self, m: RowMajorMatrix<F>, shift: F) -> Lde {
        self.tick();
        self.inner.coset_evaluate(m, shift)
    }
}

impl MerkleOps for LosesTheDevice {
    fn commit_ext_cosets(&self, evals: &[EF], log_arity: usize) -> MerkleTree {
        self.tick();
        self.inner.commit_ext_cosets(evals, log_arity)
    }
    fn commit_mixed(&self, levels: &[(usize, Vec<&Lde>)], depth: usize, cap_log: usize) -> MixedTree {
        self.tick();
        self.inner.commit_mixed(levels, depth, cap_log)
    }
}

impl FriOps for LosesTheDevice {
    fn fold(&self, evals: &[EF], beta: EF, shift: F) -> Vec<EF> {
        self.tick();
        self.inner.fold(evals, beta, shift)
    }
    fn fold_rounds(&self, evals: &[EF], beta: EF, shift: F, rounds: usize) -> Vec<EF> {
        self.tick();
        self.inner.fold_rounds(evals, beta, shift, rounds)
    }
}

impl QuotientOps for LosesTheDevice {
    fn quotient_values(&self, chip: &dyn Chip, inputs: &QuotientInputs<'_>) -> Vec<EF> {
        self.tick();
        self.inner.quotient_values(chip, inputs)
    }
}

impl DeepOps for LosesTheDevice {
    fn deep_codeword(&self, inputs: &DeepInputs<'_>) -> Vec<EF> {
        self.tick();
        self.inner.deep_codeword(inputs)
    }
}

impl sigil_prover::Backend for LosesTheDevice {
    fn name(&self) -> &'static str {
        "gpu, losing its device"
    }
}

#[test]
fn a_device_lost_mid_proof_hands_the_rest_to_the_cpu() {
    let ex = || examples::transfer(8, 6, 4, ProofOptions::default()).unwrap();
    let (cpu, ..) = proof_bytes(ex(), &CpuBackend::default());
    // Lost at each of the first operations in turn: during the key, at the main trace's LDE
    // or tree, the LogUp columns, the quotient's LDE, the DEEP composition, FRI. The proof is
    // the CPU's every time, and everything after the loss ran on the CPU.
    let mut count = 0;
    for lose_at in 1..=24 {
        let gpu = Arc::new(Gpu::new().unwrap());
        let b = LosesTheDevice { inner: GpuBackend::new(gpu.clone(), 0), gpu, ops: AtomicUsize::new(0), lose_at };
        let (got, ..) = proof_bytes(ex(), &b);
        assert!(got == cpu, "lost at operation {lose_at}: the proof differs");
        let p = b.inner.placement();
        if b.ops.load(Ordering::Relaxed) >= lose_at {
            assert!(p.fell_back && p.on_gpu == lose_at - 1, "lost at operation {lose_at}: {p:?}");
            count += 1;
        }
    }
    assert!(count >= 20, "the proof has fewer operations than expected");
}

#[test]
fn a_lost_device_hands_the_proof_to_the_cpu() {
    let ex = || examples::mac(10, 3, ProofOptions::default()).unwrap();
    let (cpu, ..) = proof_bytes(ex(), &CpuBackend::default());
    // A context of its own, lost before the proof: the first operation fails, warns, and
    // everything runs on the CPU.
    let g = Arc::new(Gpu::new().unwrap());
    g.destroy();
    let lost = GpuBackend::new(g, 0);
    let (got, ..) = proof_bytes(ex(), &lost);
    assert!(got == cpu, "the proof after the fallback differs");
    let p = lost.placement();
    assert!(p.fell_back && p.on_gpu == 0, "{p:?}");
}

fn random_ef(rng: &mut SmallRng) -> EF {
    EF::from(F::from_u64(rng.r#gen::<u64>())) + sigil_air::field::ef_x() * F::from_u64(rng.r#gen::<u64>())
}

fn random_matrix(rng: &mut SmallRng, rows: usize, width: usize) -> RowMajorMatrix<F> {
    RowMajorMatrix::new((0..rows * width).map(|_| F::from_u64(rng.r#gen::<u64>())).collect(), width)
}

/// Every chip of the built-in circuits and of the corpus models: the device's quotient equals
/// the CPU's, on random LDEs (where every constraint is non-zero, unlike on an honest trace),
/// random challenges, statement and LogUp sum; with the LDEs uploaded (rows of the quotient
/// domain) and kept on the device (made by the GPU backend), at two blowups; as generated code
/// and interpreted.
#[test]
fn quotients_equal_the_cpus_on_random_data() {
    let fast = ProofOptions { log_blowup: 3, n_queries: 28, grinding_bits: 4, log_final_poly_len: 2, log_folding_factor: 3 };
    let mut circuits: Vec<(String, sigil_verifier::Circuit)> = vec![
        ("mac".into(), examples::mac(6, 1, fast).unwrap().circuit),
        ("four tables".into(), examples::transfer(7, 5, 3, fast).unwrap().circuit),
        ("vecmat".into(), examples::vecmat(6, 5, 4, fast).unwrap().circuit),
        ("mlp".into(), examples::mlp(6, fast).unwrap().circuit),
        ("stacked rescales".into(), examples::stacked_rescales(3, 3, 5, fast).unwrap().circuit),
    ];
    for name in ["dsperse-net", "dsperse-doom", "sn2-reward-factor-v0", "sn2-reward-factor-v1", "sn2-reward-sim", "sn2-reward-legacy"] {
        let m = CompiledModel::compile(corpus(name), &CompileOptions::default()).unwrap();
        circuits.push((name.into(), m.key.circuit));
    }
    let mut g = Gpu::new().unwrap();
    g.use_quotient_kernel(sigil_gpu::QuotientKernel::Generated);
    let mut interpreting = Gpu::new().unwrap();
    interpreting.use_quotient_kernel(sigil_gpu::QuotientKernel::Interpreted);
    let backend = all_on_gpu();
    let cpu = CpuBackend::default();
    let mut rng = SmallRng::seed_from_u64(9);
    let mut chips = 0;
    for (name, circuit) in &circuits {
        let publics: Vec<F> = (0..circuit.n_publics).map(|_| F::from_u64(rng.r#gen::<u64>())).collect();
        let challenges: Vec<EF> = (0..circuit.n_challenges).map(|_| random_ef(&mut rng)).collect();
        let lookup = sigil_air::LookupChallenges { beta: random_ef(&mut rng), gamma: random_ef(&mut rng) };
        for (chip, info) in circuit.chips.iter().zip(&circuit.infos) {
            let log_n = 5;
            for log_blowup in [info.log_quotient_degree.max(1), info.log_quotient_degree + 2] {
                let shift = sigil_verifier::protocol::lde_shift();
                let n = 1 << log_n;
                let perm_width = sigil_verifier::protocol::PhaseWidths::of(info).perm;
                let widths = [info.width, info.prep_width, perm_width];
                // On the host alone (uploaded), and made by the GPU backend (kept there).
                let host: Vec<Option<Lde>> = widths.iter().map(|&w| (w > 0).then(|| Lde::host(random_matrix(&mut rng, n << log_blowup, w)))).collect();
                let kept: Vec<Option<Lde>> = widths.iter().map(|&w| (w > 0).then(|| backend.coset_lde(random_matrix(&mut rng, n, w), log_blowup, shift))).collect();
                assert!(kept.iter().flatten().all(|l| l.resident.is_some()), "{name}: an LDE is not kept on the device");
                for ldes in [&host, &kept] {
                    let inputs = QuotientInputs {
                        log_n,
                        log_quotient_degree: info.log_quotient_degree,
                        log_blowup,
                        main_lde: ldes[0].as_ref().unwrap(),
                        prep_lde: ldes[1].as_ref(),
                        perm_lde: ldes[2].as_ref(),
                        publics: &publics,
                        alpha: random_ef(&mut rng),
                        lookup,
                        challenges: &challenges,
                        aux_width: info.aux_width,
                        cumulative_sum: random_ef(&mut rng),
                        logup_batches: &info.logup_batches,
                    };
                    let want = cpu.quotient_values(chip.as_ref(), &inputs);
                    let got = g.quotient_values(chip.as_ref(), &inputs).unwrap_or_else(|e| panic!("{name}, {}: {e}", info.name));
                    assert!(got == want, "{name}, {} (blowup 2^{log_blowup}): the device's quotient differs from the CPU's", info.name);
                    let interpreted = interpreting.quotient_values(chip.as_ref(), &inputs).unwrap_or_else(|e| panic!("{name}, {}: {e}", info.name));
                    assert!(interpreted == want, "{name}, {} (blowup 2^{log_blowup}): the interpreted quotient differs from the CPU's", info.name);
                    let before = backend.placement().on_gpu;
                    assert!(backend.quotient_values(chip.as_ref(), &inputs) == want, "{name}, {}: the backend's quotient differs", info.name);
                    assert_eq!(backend.placement().on_gpu, before + 1, "{name}, {}: the backend's quotient did not run on the device", info.name);
                }
            }
            chips += 1;
        }
    }
    assert!(!backend.placement().fell_back);
    eprintln!("{chips} chips, the same quotients on the device");
}

/// Compiling a model on the GPU backend starts its quotient kernels' compile in the background
/// (`Backend::prepare`, with stand-in statement values); once they are built, its proofs run no
/// quotient interpreted, for the sample input and another: a program does not depend on the
/// statement's values.
#[test]
fn a_compiled_model_finds_its_quotient_kernels_ready() {
    let g = Arc::new(Gpu::new().unwrap());
    let backend = Arc::new(GpuBackend::new(g.clone(), 0));
    let path = corpus("dsperse-net");
    let m = CompiledModel::compile(&path, &CompileOptions { backend: backend.clone(), ..CompileOptions::default() }).unwrap();
    let t = std::time::Instant::now();
    while g.quotient_pipelines_pending() > 0 {
        assert!(t.elapsed().as_secs() < 900, "the quotient kernels were not built in 15 minutes");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(g.quotient_pipelines() > 0);
    let input = m.read_input(path.replace("model.onnx", "input.json")).unwrap();
    let other = sigil_onnx::circuit::random_like(&input, 5, true);
    let before = g.quotient_runs();
    for i in [&input, &other] {
        let p = m.prove(i).unwrap();
        m.verify(&p.statement, &p.proof).unwrap();
    }
    let after = g.quotient_runs();
    assert!(after.0 > before.0, "no quotient ran on the device: {after:?}");
    assert_eq!(after.1, before.1, "a quotient was interpreted: its program was not the one prepared");
    assert!(!backend.placement().fell_back);
}

#[test]
fn auto_proves_a_small_circuit_on_the_cpu_without_looking_for_a_gpu_and_a_large_one_looks() {
    // sn2-reward-sim (far under 2^25 committed elements): decided at compilation, before any adapter is
    // looked for; the proof is the CPU backend's, byte for byte.
    let auto = Arc::new(sigil_gpu::AutoBackend::new());
    let opts = CompileOptions { backend: auto.clone(), ..CompileOptions::default() };
    let m = CompiledModel::compile(corpus("sn2-reward-sim"), &opts).unwrap();
    let (name, why) = auto.chosen();
    assert_eq!(name, "cpu");
    assert!(why.contains("no GPU looked for"), "{why}");
    let cpu = CompiledModel::compile(corpus("sn2-reward-sim"), &CompileOptions::default()).unwrap();
    let x = m.read_input(corpus("sn2-reward-sim").replace("model.onnx", "input.json")).unwrap();
    assert_eq!(m.prove(&x).unwrap().proof, cpu.prove(&x).unwrap().proof);
    // dsperse-doom (2^25.2): looks, and on a software adapter (lavapipe here) stays on the CPU.
    let auto = Arc::new(sigil_gpu::AutoBackend::new());
    let opts = CompileOptions { backend: auto.clone(), ..CompileOptions::default() };
    let _doom = CompiledModel::compile(corpus("dsperse-doom"), &opts).unwrap();
    let (name, why) = auto.chosen();
    assert!(!why.contains("no GPU looked for"), "{why}");
    if format!("{:?}", gpu().info.device_type) == "Cpu" {
        assert_eq!(name, "cpu", "{why}");
        assert!(why.contains("software"), "{why}");
    } else {
        assert_eq!(name, "gpu", "{why}");
    }
}
