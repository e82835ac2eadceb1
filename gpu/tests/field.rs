//! The WGSL Goldilocks arithmetic equals the CPU field's, bit for bit: seeded random elements
//! at sizes 2^0 to 2^20, every pair of the edge values first. There is no skipping: without an
//! adapter the test fails (CI installs Mesa's lavapipe).

use p3_field::{PrimeCharacteristicRing, PrimeField64};
use p3_goldilocks::Goldilocks;
use rand::{Rng, SeedableRng};
use sigil_gpu::{FieldOp, Gpu, P, dispatch_size};

const EDGES: [u64; 9] = [0, 1, 2, P - 1, P - 2, (1 << 32) - 1, 1 << 32, (1 << 32) + 1, 1 << 63];

fn cpu(op: FieldOp, a: u64, b: u64) -> u64 {
    let (a, b) = (Goldilocks::from_u64(a), Goldilocks::from_u64(b));
    match op {
        FieldOp::Add => a + b,
        FieldOp::Sub => a - b,
        FieldOp::Mul => a * b,
    }
    .as_canonical_u64()
}

#[test]
fn field_kernels_equal_the_cpu_field() {
    let gpu = Gpu::new().unwrap_or_else(|e| panic!("{e} (install a Vulkan driver: apt-get install mesa-vulkan-drivers libvulkan1)"));
    eprintln!("adapter: {}", gpu.describe());
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let pairs: Vec<(u64, u64)> = EDGES.iter().flat_map(|&a| EDGES.iter().map(move |&b| (a, b))).collect();
    for log in [0, 1, 4, 8, 12, 16, 20] {
        let n = 1usize << log;
        let (mut lhs, mut rhs): (Vec<u64>, Vec<u64>) = pairs.iter().copied().take(n).unzip();
        while lhs.len() < n {
            lhs.push(rng.gen_range(0..P));
            rhs.push(rng.gen_range(0..P));
        }
        for op in [FieldOp::Add, FieldOp::Sub, FieldOp::Mul] {
            let got = gpu.elementwise(op, &lhs, &rhs).unwrap();
            for i in 0..n {
                assert_eq!(got[i], cpu(op, lhs[i], rhs[i]), "{op:?} of {:#x} and {:#x} (element {i} of 2^{log})", lhs[i], rhs[i]);
            }
        }
    }
}

#[test]
fn dispatches_past_65535_workgroups_use_two_dimensions() {
    assert_eq!(dispatch_size(1), (1, 1));
    assert_eq!(dispatch_size(64 * 65_535), (65_535, 1));
    assert_eq!(dispatch_size(64 * 65_535 + 1), (65_535, 2));
    // Every thread index below n is covered.
    let (x, y) = dispatch_size(1 << 24);
    assert!(x as u64 * y as u64 * 64 >= 1 << 24);
}
