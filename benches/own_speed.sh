#!/usr/bin/env bash
# fidelity's own speed, side by side in one run (issue: "fidelity itself must be fast enough that
# nobody reaches for a Python script instead"):
#  1. end-to-end `fidelity compare` wall time over the time spent inside ONNX Runtime for the same
#     models and batches (fidelity's overhead);
#  2. against the equivalent Python pipeline (benches/python/pipeline.py: onnxruntime + tokenizers +
#     numpy/scipy computing the same metrics), after checking both give the same numbers;
#  3. peak memory for the data and for 10x the data.
# The data is the tweets fixture repeated (DATA_REPEAT, default 10 -> 20,000 rows). Each timing is the
# median of 3 alternating runs. Needs a Python with onnxruntime, tokenizers, numpy and scipy
# (default: fixtures/.venv/bin/python, made by the fixtures README).
# Usage: benches/own_speed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-fixtures/.venv/bin/python}"
repeat="${DATA_REPEAT:-10}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
for i in $(seq "$repeat"); do cat fixtures/tweets/test.jsonl; done > "$work/data.jsonl"
for i in $(seq $((repeat * 10))); do cat fixtures/tweets/test.jsonl; done > "$work/data10.jsonl"
m=fixtures/tweets
models=("$m/teacher.onnx" "$m/pruned.onnx" "$m/distilled.onnx" "$m/int8.onnx")
flags=(--no-speed --bootstrap 0 --invariance-sample 0 --quiet)
"$python" - "$work" "$python" "${models[@]}" <<'PY'
import json, os, statistics, subprocess, sys, time
work, python, *models = sys.argv[1:]
rust, py, overhead = [], [], []
for _ in range(3):
    out = os.path.join(work, "r.json")
    s = time.perf_counter()
    subprocess.run(["./target/release/fidelity", "compare", *models, "--data", os.path.join(work, "data.jsonl"),
                    "--no-speed", "--bootstrap", "0", "--invariance-sample", "0", "--quiet", "--out", out],
                   check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - s
    r = json.load(open(out))
    inside = r["teacher"]["inference_seconds"] + sum(x["model"]["inference_seconds"] for x in r["students"])
    rust.append(wall); overhead.append(wall / inside)
    s = time.perf_counter()
    p = json.loads(subprocess.run([python, "benches/python/pipeline.py", os.path.join(work, "data.jsonl"),
                                   "fixtures/tweets/tokenizer.json", "fixtures/tweets/config.json", *models],
                                  check=True, capture_output=True, text=True).stdout)
    py.append(time.perf_counter() - s)
for x, path in zip(r["students"], models[1:]):
    mine, theirs = x["fidelity"], p["students"][path]
    for k in ["label_loyalty", "probability_loyalty", "negative_flip_rate"]:
        assert abs(mine[k] - theirs[k]) < 1e-6, (path, k, mine[k], theirs[k])
n = r["data"]["examples"]
print(f"data: {n} rows, 4 models, batch 32")
print(f"fidelity compare end to end: {statistics.median(rust):.2f} s; inside ONNX Runtime: "
      f"{statistics.median(rust) / statistics.median(overhead):.2f} s; ratio {statistics.median(overhead):.2f} (target <= 1.10)")
print(f"python pipeline: {statistics.median(py):.2f} s; fidelity is {statistics.median(py) / statistics.median(rust):.2f}x faster (target >= 3)")
peaks = []
for data in ["data.jsonl", "data10.jsonl"]:
    out = os.path.join(work, "m.json")
    subprocess.run(["./target/release/fidelity", "compare", *models, "--data", os.path.join(work, data), "--no-speed",
                    "--bootstrap", "0", "--invariance-sample", "0", "--quiet", "--out", out], check=True, stdout=subprocess.DEVNULL)
    peaks.append(json.load(open(out))["peak_rss_bytes"])
print(f"peak RSS: {peaks[0] / 1e6:.0f} MB for {n} rows, {peaks[1] / 1e6:.0f} MB for 10x: +{100 * (peaks[1] / peaks[0] - 1):.0f} % (target <= +20 %)")
PY
