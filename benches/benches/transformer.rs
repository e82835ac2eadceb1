//! The transformer chips and a transformer proved whole: the square root's and the embedding's
//! traces (2^16 elements; LayerNormalization's standard deviation, a token embedding of 65 x
//! 64), and encoder-tiny (`../shared/transformers/`: 2 post-norm layers, 64 wide, exact GELU)
//! compiled once and proved per iteration on the CPU backend.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sigil_air::chips::embed::{Embed, EmbedTable};
use sigil_air::chips::sqrt::Sqrt;
use sigil_air::chips::unary::UnaryIo;
use sigil_onnx::circuit::{CompileOptions, CompiledModel};

fn chips(c: &mut Criterion) {
    let mut g = c.benchmark_group("transformer-chips");
    let n = 1usize << 16;
    g.throughput(Throughput::Elements(n as u64));
    let sqrt = Sqrt::new("sqrt", 42, 0, 44, UnaryIo::new(1, 2, n)).expect("chip");
    let x: Vec<i64> = (0..n as i64).map(|i| (i * 2654435761) % (1 << 44)).collect();
    g.bench_function(BenchmarkId::new("sqrt-trace", n), |b| b.iter(|| sqrt.generate_trace(&x).expect("roots")));
    let (vocab, width) = (65usize, 64usize);
    let table = EmbedTable { name: "wte".into(), bus: 3, entries: (0..(vocab * width) as i64).map(|k| k * 7 % 1001 - 500).collect(), log_height: 13 };
    let at: Vec<u32> = (0..n as u32).map(|e| e / width as u32).collect();
    let ids: Vec<i64> = (0..n).map(|e| ((e / width) * 31 % vocab) as i64).collect();
    let embed = Embed::new("embed", width as u64, (0..n as u64).map(|e| e % width as u64).collect(), 8, 3, UnaryIo::gathering(1, 2, at)).expect("chip");
    g.bench_function(BenchmarkId::new("embed-trace", n), |b| b.iter(|| embed.generate_trace(&table, &ids).expect("rows")));
    g.finish();
}

fn encoder(c: &mut Criterion) {
    let dir = format!("{}/../../shared/transformers/encoder-tiny", env!("CARGO_MANIFEST_DIR"));
    let m = CompiledModel::compile(format!("{dir}/model.onnx"), &CompileOptions::default()).expect("compiles");
    let x = m.read_input(format!("{dir}/input.json")).expect("input");
    let mut g = c.benchmark_group("transformer");
    g.sample_size(10);
    g.bench_function("encoder-tiny/prove", |b| b.iter(|| m.prove(&x).expect("proves")));
    g.finish();
}

criterion_group!(benches, chips, encoder);
criterion_main!(benches);
