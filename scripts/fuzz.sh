#!/usr/bin/env bash
# Fuzzes fidelity's readers of untrusted input for a bounded time per target (default 300 s):
# JSONL and CSV data, .npy arrays, suite files and gate expressions, and the ONNX graph reader.
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Not run by CI.
# Seeds come from the fixtures. A crash stops the script: add its input as a regression test.
# Usage: scripts/fuzz.sh [seconds per target] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(jsonl csv npy suite onnx_graph)
mkdir -p fuzz/corpus/{jsonl,csv,npy,suite,onnx_graph}
head -c 20000 fixtures/tweets/test.jsonl > fuzz/corpus/jsonl/tweets.jsonl
cp fixtures/tweets/pairs.jsonl fuzz/corpus/jsonl/
head -c 20000 fixtures/tweets/test.csv > fuzz/corpus/csv/tweets.csv
head -n 20 fixtures/adult/test.csv > fuzz/corpus/csv/adult.csv
python3 -c "import zipfile; z = zipfile.ZipFile('fixtures/adult/test.npz'); [open('fuzz/corpus/npy/' + n, 'wb').write(z.read(n)[:4096]) for n in z.namelist()]"
cp suites/*.toml fuzz/corpus/suite/
cp fixtures/errors/*.onnx fixtures/adult/distilled.onnx fuzz/corpus/onnx_graph/
mkdir -p target
for t in "${targets[@]}"; do
  echo "== fuzzing $t for ${seconds}s"
  if ! (cd fuzz && cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 > "../target/fuzz-$t.log" 2>&1); then
    grep -E "panicked|ERROR|Test unit written|artifact" "target/fuzz-$t.log" | head -n 20
    echo "fuzz target $t crashed: full log in target/fuzz-$t.log, input in fuzz/artifacts/$t/"
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "target/fuzz-$t.log" || true
done
echo "no crash in ${#targets[@]} targets"
