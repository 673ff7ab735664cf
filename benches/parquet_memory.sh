#!/usr/bin/env bash
# Parquet memory (issue 15): peak RSS follows the row group batch, not the file. One run, side by
# side: the tweets teacher and its int8 student, defaults with topic groups, `--no-speed`, on
# copies of fixtures/tweets/test.parquet made with pyarrow (row groups of 8,192 rows, snappy):
#   20k      20,000 rows (the test set 10 times)
#   200k     200,000 rows (100 times)
#   20k+blob 20,000 rows with an extra 4 KB text column per row the evaluation never reads (80 MB)
#   jsonl    the 200,000 rows as JSONL, for reference
# Peak RSS is the report's own `peak_rss_bytes` (getrusage of the process); wall time is printed
# too. Medians of 3 alternating rounds. Needs pyarrow: a venv from fixtures/parquet/requirements.txt
# is made at target/parquet-venv. Usage: benches/parquet_memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/parquet-venv
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r fixtures/parquet/requirements.txt
fi
cargo build --release --quiet
mkdir -p target/bench
"$venv/bin/python" - <<'PY'
import os
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.json as pj

base = pq.read_table("fixtures/tweets/test.parquet")
def write(name, times, blob=False):
    path = f"target/bench/{name}"
    if os.path.exists(path):
        return
    table = pa.concat_tables([base] * times)
    if blob:
        rng = np.random.default_rng(15)
        letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz ", dtype=np.uint8)
        blobs = [letters[rng.integers(0, len(letters), 4096)].tobytes().decode() for _ in range(table.num_rows)]
        table = table.append_column("blob", pa.array(blobs, pa.string()))
    if name.endswith(".jsonl"):
        with open(path, "w", encoding="utf-8") as f:
            import json
            for row in table.to_pylist():
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        pq.write_table(table, path, row_group_size=8192, compression="snappy")
write("tweets-20k.parquet", 10)
write("tweets-200k.parquet", 100)
write("tweets-20k-blob.parquet", 10, blob=True)
write("tweets-200k.jsonl", 100)
PY
python3 - <<'PY'
import json, os, statistics, subprocess, tempfile, time
runs = {
    "20k": "target/bench/tweets-20k.parquet",
    "200k": "target/bench/tweets-200k.parquet",
    "20k+blob": "target/bench/tweets-20k-blob.parquet",
    "jsonl 200k": "target/bench/tweets-200k.jsonl",
}
rss = {k: [] for k in runs}
wall = {k: [] for k in runs}
with tempfile.TemporaryDirectory() as tmp:
    for _ in range(3):
        for key, data in runs.items():
            out = os.path.join(tmp, "r.json")
            cmd = ["target/release/fidelity", "compare", "fixtures/tweets/teacher.onnx", "fixtures/tweets/int8.onnx",
                   "--data", data, "--group-column", "topic", "--no-speed", "--quiet", "--out", out]
            started = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            wall[key].append(time.perf_counter() - started)
            rss[key].append(json.load(open(out))["peak_rss_bytes"])
print("| data | file size | peak RSS | wall |")
print("|---|---:|---:|---:|")
for key, data in runs.items():
    print(f"| {key} | {os.path.getsize(data) / 1e6:.1f} MB | {statistics.median(rss[key]) / 1e6:.0f} MB | {statistics.median(wall[key]):.2f} s |")
r20, r200 = statistics.median(rss["20k"]), statistics.median(rss["200k"])
print(f"10x the rows: peak RSS {r200 / r20:.2f}x; the unread 4 KB column: {statistics.median(rss['20k+blob']) / r20:.2f}x")
PY
