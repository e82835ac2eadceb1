//! Each kernel against the CPU backend, bit for bit: seeded random inputs at sizes 2^0 to
//! 2^20, the edge values 0, 1, p-1, 2^32-1, 2^32 first; the same with bindings limited to a
//! few KiB (every level, matrix and codeword split into many buffers); and one LDE past the
//! default 128 MiB binding limit. No skipping: without an adapter these tests fail.

use std::sync::{Arc, OnceLock};

use p3_field::{Field, PrimeCharacteristicRing, PrimeField64};
use p3_matrix::dense::RowMajorMatrix;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sigil_air::field::ef_from_base;
use sigil_air::{EF, F};
use sigil_gpu::{Gpu, GpuBackend, P, Transform};
use sigil_prover::backend::{DeepInputs, DeepOps, FriOps, MerkleOps, NttOps};
use sigil_prover::{CpuBackend, Lde};

const EDGES: [u64; 6] = [0, 1, P - 1, (1 << 32) - 1, 1 << 32, P - 2];

fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        let g = Gpu::new().unwrap_or_else(|e| panic!("{e} (install a Vulkan driver: apt-get install mesa-vulkan-drivers libvulkan1)"));
        eprintln!("adapter: {}, bindings up to {} bytes", g.describe(), g.binding_limit());
        g
    })
}

/// A GPU context whose bindings hold at most 4 KiB: everything larger is split.
fn small_gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        let mut g = Gpu::new().unwrap_or_else(|e| panic!("{e}"));
        g.limit_bindings(4096);
        g
    })
}

/// `n` elements: the edge values first, then seeded random ones.
fn elems(rng: &mut SmallRng, n: usize) -> Vec<F> {
    (0..n).map(|i| F::from_u64(if i < EDGES.len() { EDGES[i] } else { rng.gen_range(0..P) })).collect()
}

fn ext(rng: &mut SmallRng, n: usize) -> Vec<EF> {
    let b = elems(rng, 2 * n);
    b.chunks_exact(2).map(|c| ef_from_base([c[1], c[0]])).collect()
}

fn check_transforms(g: &Gpu, sizes: &[(usize, usize)], seed: u64) {
    let cpu = CpuBackend::default();
    let mut rng = SmallRng::seed_from_u64(seed);
    let shift = F::GENERATOR;
    for &(log_n, width) in sizes {
        let m = RowMajorMatrix::new(elems(&mut rng, width << log_n), width);
        for lb in [1, 3] {
            if (width << (log_n + lb)) > 1 << 21 {
                continue;
            }
            let got = g.transform(&m, Transform::Lde { log_blowup: lb, shift }).unwrap();
            assert!(got == cpu.coset_lde(m.clone(), lb, shift).into_matrix(), "LDE of 2^{log_n} x {width}, blowup 2^{lb}");
        }
        let got = g.transform(&m, Transform::Interpolate { shift }).unwrap();
        assert!(got == cpu.coset_interpolate(m.clone(), shift), "interpolation of 2^{log_n} x {width}");
        let got = g.transform(&m, Transform::Evaluate { shift }).unwrap();
        assert!(got == cpu.coset_evaluate(m.clone(), shift).into_matrix(), "evaluation of 2^{log_n} x {width}");
        let got = g.transform(&m, Transform::Evaluate { shift: F::ONE }).unwrap();
        assert!(got == cpu.coset_evaluate(m.clone(), F::ONE).into_matrix(), "evaluation over H of 2^{log_n} x {width}");
    }
}

#[test]
fn ntt_transforms_equal_the_cpu() {
    check_transforms(gpu(), &[(0, 1), (0, 3), (1, 2), (2, 5), (4, 3), (8, 7), (12, 4), (16, 3), (20, 1)], 1);
}

#[test]
fn both_ntt_strategies_equal_the_cpu() {
    // Stages in workgroup memory (several passes: 2^12 is a pass of 10 stages and one of 2,
    // 2^20 two of 10) and one stage per pass, whichever this adapter defaults to.
    for blocked in [true, false] {
        let mut g = Gpu::new().unwrap_or_else(|e| panic!("{e}"));
        g.use_blocked_ntt(blocked);
        check_transforms(&g, &[(0, 1), (1, 3), (3, 2), (9, 3), (10, 2), (11, 1), (12, 3), (14, 1)], 12);
        check_transforms(&g, &[(20, 1)], 13);
    }
}

#[test]
fn ntt_transforms_split_by_columns_equal_the_cpu() {
    // 4 KiB bindings: 2^9 rows at most, so a column alone fits up to 2^9 output rows.
    check_transforms(small_gpu(), &[(0, 3), (2, 5), (4, 70), (6, 9)], 2);
    // A column taller than one binding cannot be split by columns: a clear error.
    let m = RowMajorMatrix::new(vec![F::ONE; 1 << 10], 1);
    let e = small_gpu().transform(&m, Transform::Evaluate { shift: F::ONE }).unwrap_err();
    assert!(e.to_string().contains("binding limit"), "{e}");
}

fn check_mixed(g: &Gpu, depth: usize, cap_log: usize, widths: &[(usize, usize)], seed: u64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    // (level, width) pairs: matrices of 2^(depth - level) rows.
    let mats: Vec<(usize, Lde)> = widths.iter().map(|&(s, w)| (s, Lde::host(RowMajorMatrix::new(elems(&mut rng, w << (depth - s)), w)))).collect();
    let mut levels: Vec<(usize, Vec<&Lde>)> = Vec::new();
    for (s, m) in &mats {
        match levels.iter_mut().find(|(l, _)| l == s) {
            Some((_, v)) => v.push(m),
            None => levels.push((*s, vec![m])),
        }
    }
    let got = g.commit_mixed(&levels, depth, cap_log).unwrap();
    let want = CpuBackend::default().commit_mixed(&levels, depth, cap_log);
    assert_eq!(got.levels.len(), want.levels.len());
    for (k, (a, b)) in got.levels.iter().zip(&want.levels).enumerate() {
        assert!(a == b, "level {k} of a depth-{depth} tree with {widths:?}");
    }
}

#[test]
fn mixed_trees_equal_the_cpu() {
    let g = gpu();
    check_mixed(g, 0, 0, &[(0, 1)], 3);
    check_mixed(g, 1, 0, &[(0, 2)], 3);
    // Leaves of one block, several blocks, one chunk exactly, 2, 3 and 5 chunks (parent
    // merges of the chunk tree), two groups entering lower down, a cap.
    check_mixed(g, 4, 0, &[(0, 8), (1, 3), (3, 16)], 4);
    check_mixed(g, 6, 2, &[(0, 128), (2, 129), (4, 1)], 5);
    check_mixed(g, 5, 1, &[(0, 256), (0, 1), (1, 300), (3, 600)], 6);
    check_mixed(g, 12, 3, &[(0, 5), (0, 2), (2, 33), (5, 4)], 7);
    check_mixed(g, 20, 4, &[(0, 1), (1, 3)], 8);
}

#[test]
fn mixed_trees_split_into_parts_equal_the_cpu() {
    // 4 KiB bindings: 128 digests a part, 64 rows of eight elements an upload.
    let g = small_gpu();
    check_mixed(g, 10, 0, &[(0, 8), (1, 3), (3, 40), (9, 2)], 9);
    check_mixed(g, 12, 5, &[(0, 500), (4, 1)], 10);
    // A row wider than one binding cannot be split: a clear error.
    let m = Lde::host(RowMajorMatrix::new(vec![F::ONE; 600], 600));
    assert!(g.commit_mixed(&[(0, vec![&m])], 0, 0).unwrap_err().to_string().contains("binding limit"));
}

fn check_ext_tree(g: &Gpu, log_n: usize, log_arity: usize, seed: u64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let evals = ext(&mut rng, 1 << log_n);
    let got = g.commit_ext_cosets(&evals, log_arity).unwrap();
    let want = CpuBackend::default().commit_ext_cosets(&evals, log_arity);
    assert!(got.nodes == want.nodes, "tree of 2^{log_n} evaluations folded by 2^{log_arity}");
}

#[test]
fn fri_layer_trees_equal_the_cpu() {
    for (log_n, a) in [(0, 0), (1, 1), (4, 1), (5, 3), (8, 2), (12, 3), (16, 3), (20, 3), (20, 1)] {
        check_ext_tree(gpu(), log_n, a, 11 + log_n as u64);
    }
    for (log_n, a) in [(10, 1), (12, 3), (14, 2)] {
        check_ext_tree(small_gpu(), log_n, a, 31 + log_n as u64);
    }
}

fn check_fold(g: &Gpu, log_n: usize, seed: u64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let evals = ext(&mut rng, 1 << log_n);
    let beta = ext(&mut rng, 7)[6];
    for shift in [F::GENERATOR, F::ONE, F::from_u64(P - 1)] {
        let got = g.fold(&evals, beta, shift).unwrap();
        assert!(got == CpuBackend::default().fold(&evals, beta, shift), "fold of 2^{log_n} by {shift}");
    }
}

#[test]
fn fri_folds_equal_the_cpu() {
    for log_n in [1, 2, 4, 8, 12, 16, 20] {
        check_fold(gpu(), log_n, 40 + log_n as u64);
    }
    check_fold(small_gpu(), 12, 60);
    assert!(gpu().fold(&[EF::ONE; 3], EF::ONE, F::ONE).is_err(), "3 evaluations do not fold");
}

#[test]
fn folds_in_a_row_on_the_device_equal_the_cpu() {
    let cpu = CpuBackend::default();
    let mut rng = SmallRng::seed_from_u64(61);
    // A FRI layer of arity 2^rounds: the intermediate codewords stay on the device; past one
    // binding (the 4 KiB context at 2^10 points) round by round.
    for (g, log_n, rounds) in [(gpu(), 1, 1), (gpu(), 3, 3), (gpu(), 8, 2), (gpu(), 12, 4), (gpu(), 20, 3), (small_gpu(), 10, 3), (small_gpu(), 8, 2)] {
        let evals = ext(&mut rng, 1 << log_n);
        let beta = ext(&mut rng, 1)[0];
        let got = g.fold_rounds(&evals, beta, F::GENERATOR, rounds).unwrap();
        assert!(got == cpu.fold_rounds(&evals, beta, F::GENERATOR, rounds), "{rounds} folds of 2^{log_n}");
    }
    assert_eq!(gpu().fold_rounds(&[EF::ONE; 4], EF::ONE, F::ONE, 0).unwrap(), vec![EF::ONE; 4]);
    assert!(gpu().fold_rounds(&[EF::ONE; 4], EF::ONE, F::ONE, 3).is_err(), "4 evaluations do not fold 3 times");
}

fn check_deep(g: &Gpu, log_lde: usize, widths: &[usize], quotient_width: usize, seed: u64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let n = 1usize << log_lde;
    let mats: Vec<Lde> = widths.iter().map(|&w| Lde::host(RowMajorMatrix::new(elems(&mut rng, w * n), w))).collect();
    let refs: Vec<&Lde> = mats.iter().collect();
    let total: usize = widths.iter().sum();
    let cz = ext(&mut rng, total);
    let czg = ext(&mut rng, total - quotient_width);
    let [a_z, a_zg, z] = <[EF; 3]>::try_from(ext(&mut rng, 3)).unwrap();
    let zg = z * F::from_u64(7);
    let inputs = DeepInputs { mats: &refs, cz: &cz, czg: &czg, a_z, a_zg, z, zg, log_lde, shift: F::GENERATOR };
    let got = g.deep_codeword(&refs, &cz, &czg, a_z, a_zg, z, zg, log_lde, F::GENERATOR).unwrap();
    assert!(got == CpuBackend::default().deep_codeword(&inputs), "DEEP over 2^{log_lde} points, widths {widths:?}");
}

#[test]
fn deep_compositions_equal_the_cpu() {
    check_deep(gpu(), 0, &[1], 0, 70);
    check_deep(gpu(), 3, &[2, 3, 0, 4], 4, 71);
    check_deep(gpu(), 12, &[5, 9, 2], 2, 72);
    check_deep(gpu(), 20, &[1], 0, 73);
    check_deep(small_gpu(), 10, &[3, 17, 4], 4, 74);
}

#[test]
fn an_lde_past_the_default_128_mib_binding_limit() {
    // wgpu's default binding limit: an LDE of 2^18 rows x 9 columns at blowup 8 is 144 MiB, in
    // two groups of columns.
    let mut g = Gpu::new().unwrap_or_else(|e| panic!("{e}"));
    g.limit_bindings(128 << 20);
    let mut rng = SmallRng::seed_from_u64(80);
    let m = RowMajorMatrix::new(elems(&mut rng, 9 << 18), 9);
    let got = g.transform(&m, Transform::Lde { log_blowup: 3, shift: F::GENERATOR }).unwrap();
    assert!((got.values.len() * 8) as u64 > 128 << 20);
    assert!(got == CpuBackend::default().coset_lde(m, 3, F::GENERATOR).into_matrix(), "the 144 MiB LDE");
}

#[test]
fn values_are_canonical_on_the_way_back() {
    // p - 1 + 1 wraps to 0, and nothing the device returns is p or above.
    let got = gpu().elementwise(sigil_gpu::FieldOp::Add, &[P - 1, (1 << 32) - 1], &[1, 1 << 32]).unwrap();
    assert_eq!(got, vec![0, ((1u64 << 32) - 1 + (1 << 32)) % P]);
    assert!(got.iter().all(|&x| F::from_u64(x).as_canonical_u64() == x));
}

/// LDEs made by the GPU backend stay on the device; committing to them and the DEEP
/// composition read them there (mixed with host matrices, split into column groups or not)
/// and give the CPU backend's values; the budget bounds what stays, and dropping an LDE frees
/// its share.
fn check_resident(gpu: Arc<Gpu>, seed: u64) {
    let cpu = CpuBackend::default();
    let backend = GpuBackend::new(gpu, 0);
    let mut rng = SmallRng::seed_from_u64(seed);
    let (lb, shift) = (2, F::GENERATOR);
    let a = RowMajorMatrix::new(elems(&mut rng, 9 << 6), 9);
    let b = RowMajorMatrix::new(elems(&mut rng, 3 << 5), 3);
    let (ga, gb) = (backend.coset_lde(a.clone(), lb, shift), backend.coset_lde(b.clone(), lb, shift));
    assert!(ga.resident.is_some() && gb.resident.is_some(), "the LDEs stay on the device");
    assert_eq!(backend.resident_bytes(), 8 * (ga.values.len() + gb.values.len()) as u64);
    let (ca, cb) = (cpu.coset_lde(a, lb, shift), cpu.coset_lde(b, lb, shift));
    assert!(ga == ca && gb == cb);
    let host = Lde::host(RowMajorMatrix::new(elems(&mut rng, 2 << 8), 2));
    // A resident matrix beside a host one at the top, a resident one lower down.
    let levels_gpu = [(0, vec![&ga, &host]), (1, vec![&gb])];
    let levels_cpu = [(0, vec![&ca, &host]), (1, vec![&cb])];
    let got = backend.commit_mixed(&levels_gpu, 8, 1);
    assert!(got.levels == cpu.commit_mixed(&levels_cpu, 8, 1).levels, "tree over resident LDEs");
    let cz = ext(&mut rng, 11);
    let czg = ext(&mut rng, 9);
    let [a_z, a_zg, z] = <[EF; 3]>::try_from(ext(&mut rng, 3)).unwrap();
    let deep = |mats: &[&Lde], b: &dyn DeepOps| b.deep_codeword(&DeepInputs { mats, cz: &cz, czg: &czg, a_z, a_zg, z, zg: z + EF::ONE, log_lde: 8, shift });
    assert!(deep(&[&ga, &host], &backend) == deep(&[&ca, &host], &cpu), "DEEP over a resident LDE");
    // The device copy is what is read: beside host values changed after the fact, the tree
    // is still the LDE's.
    let mut stale = ga.clone();
    let mut values = stale.matrix.values.to_vec();
    values[0] += F::ONE;
    stale.matrix.values = sigil_prover::LdeValues::Owned(values);
    let got = backend.commit_mixed(&[(0, vec![&stale, &host]), (1, vec![&gb])], 8, 1);
    assert!(got.levels == cpu.commit_mixed(&levels_cpu, 8, 1).levels, "the device copy is read");
    let p = backend.placement();
    assert!(p.on_gpu >= 4 && !p.fell_back, "{p:?}");
    drop((ga, gb, stale));
    assert_eq!(backend.resident_bytes(), 0, "dropped LDEs free their share");
    // A budget of nothing keeps nothing on the device.
    let none = GpuBackend::new(Arc::new(Gpu::new().unwrap()), 0).with_resident_budget(0);
    let l = none.coset_lde(RowMajorMatrix::new(elems(&mut rng, 64), 1), 1, shift);
    assert!(l.resident.is_none() && none.resident_bytes() == 0);
}

#[test]
fn resident_ldes_are_committed_and_combined_where_they_are() {
    check_resident(Arc::new(Gpu::new().unwrap_or_else(|e| panic!("{e}"))), 90);
    // Bindings of 4 KiB: the 9-column LDE is held in groups of 2 columns (256 rows).
    let mut g = Gpu::new().unwrap_or_else(|e| panic!("{e}"));
    g.limit_bindings(4096);
    check_resident(Arc::new(g), 91);
}

#[test]
fn the_kernel_benchmark_runs() {
    // `sigil bench`'s kernel table at a small size: every kernel dispatches with the
    // parameters its shader expects (a validation error fails here).
    let figures = gpu().bench_kernels(6, 1).unwrap();
    let names: Vec<&str> = figures.iter().map(|f| f.kernel).collect();
    assert_eq!(names, ["ntt", "merkle leaves", "merkle nodes", "fri fold", "deep", "field mul", "quotient gen", "quotient int"]);
    assert!(figures.iter().all(|f| f.gpu.as_nanos() > 0 && f.bytes > 0));
}

#[test]
fn a_hardware_context_is_refused_on_a_software_adapter_and_built_on_a_hardware_one() {
    // The same adapter as `Gpu::new` takes: on lavapipe or llvmpipe (CI, this project's
    // machines) refused by name before a device is made; on a hardware GPU, built.
    let any = gpu();
    match (any.info.device_type, Gpu::new_hardware()) {
        (wgpu::DeviceType::Cpu, Err(sigil_gpu::GpuError::SoftwareAdapter(name))) => assert_eq!(name, any.info.name),
        (wgpu::DeviceType::Cpu, other) => panic!("a software adapter ({}) taken as hardware: {other:?}", any.info.name),
        (_, Ok(g)) => assert_eq!(g.info.name, any.info.name),
        (_, Err(e)) => panic!("the hardware adapter {} refused: {e}", any.info.name),
    }
}
