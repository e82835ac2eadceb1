//! The ONNX frontend on the largest models of the corpus: parse (dsperse-doom is the largest
//! file, 1.6 MB; dsperse-version-facedet the largest computation, a 480x640 image through 52
//! convolutions), lower (BatchNormalization and constant folding, quantization, one
//! calibration run) and execute the lowered plan in fixed point (convolutions in parallel over
//! output planes, rayon on all cores).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sigil_onnx::{InputTensor, LowerOptions, Model, load_model, lower, parse_model, read_inputs};

fn corpus(name: &str) -> String {
    format!("{}/../../shared/models/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The input the reference script generates for models without one:
/// `x_i = ((i * 2654435761) mod 2^32) / 2^32`.
fn generated(model: &Model) -> Vec<InputTensor> {
    let i = &model.graph.inputs[0];
    let dims = i.fixed_dims();
    let n: usize = dims.iter().product();
    let values = (0..n as u64).map(|k| (k.wrapping_mul(2654435761) % (1 << 32)) as f64 / (1u64 << 32) as f64).collect();
    vec![InputTensor { name: i.name.clone(), elem_type: i.elem_type, dims, values }]
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("onnx");
    g.sample_size(10);
    for name in ["dsperse-doom", "dsperse-version-facedet"] {
        let dir = corpus(name);
        let bytes = std::fs::read(format!("{dir}/model.onnx")).expect("corpus model");
        g.bench_function(BenchmarkId::new("parse", name), |b| b.iter(|| parse_model(&bytes, name).expect("parses")));
        let model = load_model(format!("{dir}/model.onnx")).expect("corpus model");
        let input = if std::path::Path::new(&format!("{dir}/input.json")).is_file() {
            read_inputs(format!("{dir}/input.json"), &model).expect("input")
        } else {
            generated(&model)
        };
        let opts = LowerOptions::default();
        g.bench_function(BenchmarkId::new("lower", name), |b| b.iter(|| lower(&model, std::slice::from_ref(&input), &opts, name).expect("lowers")));
        let plan = lower(&model, std::slice::from_ref(&input), &opts, name).expect("lowers");
        g.bench_function(BenchmarkId::new("execute", name), |b| b.iter(|| plan.execute(&input).expect("runs")));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
