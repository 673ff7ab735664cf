#!/usr/bin/env bash
# Intervals at a million rows (issue 21): what the bootstrap costs next to the models, side by side
# in one run. Data: a 1,000,000-row copy of the Adult fixture (rows drawn with replacement from
# fixtures/adult/test.npz, seed 21; 46 float features), the Adult teacher MLP and its pruned,
# distilled and int8 students, groups from sex and race (each alone and crossed). Every run is
# `compare --no-speed`, whole process; the timings are medians of 3 alternating rounds.
#   floor      Python: onnxruntime alone over the same batches (batch 32), 4 models
#   A          --bootstrap 0 --invariance-sample 0, no groups
#   B          --bootstrap 0, groups
#   C          defaults (1,000 resamples), no groups
#   D          defaults, groups
#   E          --bootstrap 10000, groups
# Targets: D <= 1.3 x B; E < 2 x D. Needs a Python with numpy and onnxruntime (default: the golden
# venv the tests make, target/golden-venv). Usage: benches/million_rows.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-target/golden-venv/bin/python}"
cargo build --release --quiet
mkdir -p target/bench
"$python" - <<'PY'
import numpy as np, os
out = "target/bench/adult-1m.npz"
if not os.path.exists(out):
    z = np.load("fixtures/adult/test.npz")
    rows = np.random.default_rng(21).integers(0, len(z["label"]), 1_000_000)
    np.savez(out, **{k: z[k][rows] for k in z.files})
PY
"$python" - "$python" <<'PY'
import json, statistics, subprocess, sys, time
python = sys.argv[1]
models = [f"fixtures/adult/{m}.onnx" for m in ["teacher", "pruned", "distilled", "int8"]]
data = "target/bench/adult-1m.npz"
groups = ["--group-column", "sex", "--group-column", "race"]
RUNS = {
    "A": ["--bootstrap", "0", "--invariance-sample", "0"],
    "B": ["--bootstrap", "0", *groups],
    "C": [],
    "D": groups,
    "E": ["--bootstrap", "10000", *groups],
}
FLOOR = r'''
import numpy as np, onnxruntime as ort, sys, time
z = np.load(sys.argv[1]); x = z["features"]
so = ort.SessionOptions()
sessions = [ort.InferenceSession(m, so, providers=["CPUExecutionProvider"]) for m in sys.argv[2:]]
for s in sessions:
    name = s.get_inputs()[0].name
    for i in range(0, len(x), 32):
        s.run(None, {name: x[i:i + 32]})
'''

def timed(cmd):
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started

times = {k: [] for k in ["floor", *RUNS]}
for _ in range(3):
    times["floor"].append(timed([python, "-c", FLOOR, data, *models]))
    for key, flags in RUNS.items():
        cmd = ["target/release/fidelity", "compare", *models, "--data", data, "--no-speed", "--quiet", "--out", f"target/bench/1m-{key}.json", *flags]
        times[key].append(timed(cmd))
m = {k: statistics.median(v) for k, v in times.items()}
labels = {
    "floor": "Python: onnxruntime alone over the same batches (batch 32), 4 models",
    "A": "fidelity, `--bootstrap 0 --invariance-sample 0`, no groups",
    "B": "fidelity, `--bootstrap 0`, groups",
    "C": "fidelity, defaults (1,000 resamples), no groups",
    "D": "fidelity, defaults, groups",
    "E": "fidelity, `--bootstrap 10000`, groups",
}
ort_seconds = json.load(open("target/bench/1m-A.json"))["teacher"]["onnxruntime_seconds"]
print("| run | wall (median of 3) |\n|---|---|")
for k, label in labels.items():
    print(f"| {label} | {m[k]:.2f} s |")
print(f"\nD / B = {m['D'] / m['B']:.2f} (target <= 1.3); E / D = {m['E'] / m['D']:.2f} (target < 2); "
      f"the bootstrap's share of the default run with groups: {(m['D'] - m['B']) / m['D']:.0%}; "
      f"teacher onnxruntime_seconds in A: {ort_seconds:.2f} s")
PY
