#!/usr/bin/env python3
"""A language model of realistic compute for `cargo bench --bench language_model`: the fixture
LM's graph (fixtures/make_lm.py, build_onnx) at d = 768, 6 layers, a vocabulary of 8,192 and
context 128, with random weights (55M parameters; speed does not depend on training), and its
int8 `quantize_dynamic` student, written to target/bench-lm/. Not committed (220 MB); about a
minute. Run with the fixture environment (fixtures/lm/requirements.txt) or any with numpy, onnx
and onnxruntime:

    python benches/python/make_bench_lm.py
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "fixtures"))
import make_lm  # noqa: E402

OUT = ROOT / "target" / "bench-lm"


def main() -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    d, v, layers = 768, 8192, 6
    p = {"tok": rng.normal(0, 0.02, (v, d)), "pos": rng.normal(0, 0.02, (make_lm.CONTEXT, d)), "lnf_g": np.ones(d), "lnf_b": np.zeros(d), "head": rng.normal(0, 0.02, (d, v))}
    for i in range(layers):
        p |= {f"l{i}.ln1_g": np.ones(d), f"l{i}.ln1_b": np.zeros(d), f"l{i}.wqkv": rng.normal(0, 0.02, (d, 3 * d)), f"l{i}.bqkv": np.zeros(3 * d),
              f"l{i}.wo": rng.normal(0, 0.02, (d, d)), f"l{i}.bo": np.zeros(d), f"l{i}.ln2_g": np.ones(d), f"l{i}.ln2_b": np.zeros(d),
              f"l{i}.w1": rng.normal(0, 0.02, (d, 4 * d)), f"l{i}.b1": np.zeros(4 * d), f"l{i}.w2": rng.normal(0, 0.02, (4 * d, d)), f"l{i}.b2": np.zeros(d)}
    model = make_lm.build_onnx({k: np.asarray(a, np.float32) for k, a in p.items()}, with_past=True)
    import onnx
    onnx.save(model, str(OUT / "teacher.onnx"))
    quantize_dynamic(str(OUT / "teacher.onnx"), str(OUT / "int8.onnx"), weight_type=QuantType.QInt8)
    print(f"wrote {OUT}/teacher.onnx and int8.onnx")


if __name__ == "__main__":
    main()
