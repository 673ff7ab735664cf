#!/usr/bin/env bash
# Fuzzes fidelity's readers of untrusted input for a bounded time per target (default 300 s):
# JSONL, CSV and Parquet data, .npy arrays, suite files and gate expressions, and the ONNX graph reader.
# With a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`) it runs `cargo fuzz` (with
# AddressSanitizer); without them it builds the same libFuzzer targets on the stable toolchain
# (coverage instrumentation through -Cpasses=sancov-module, no sanitizer) and runs those binaries.
# Not run by CI.
# Seeds come from the fixtures. A crash stops the script: add its input as a regression test.
# Usage: scripts/fuzz.sh [seconds per target] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(jsonl csv parquet npy suite onnx_graph)
mkdir -p fuzz/corpus/{jsonl,csv,parquet,npy,suite,onnx_graph}
head -c 20000 fixtures/tweets/test.jsonl > fuzz/corpus/jsonl/tweets.jsonl
cp fixtures/tweets/pairs.jsonl fuzz/corpus/jsonl/
head -c 20000 fixtures/tweets/test.csv > fuzz/corpus/csv/tweets.csv
head -n 20 fixtures/adult/test.csv > fuzz/corpus/csv/adult.csv
cp fixtures/parquet/*.parquet fuzz/corpus/parquet/
python3 -c "import zipfile; z = zipfile.ZipFile('fixtures/adult/test.npz'); [open('fuzz/corpus/npy/' + n, 'wb').write(z.read(n)[:4096]) for n in z.namelist()]"
cp suites/*.toml fuzz/corpus/suite/
cp fixtures/errors/*.onnx fixtures/adult/distilled.onnx fuzz/corpus/onnx_graph/
mkdir -p target
stable_flags="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
host=x86_64-unknown-linux-gnu
run_target() {
  if cargo +nightly fuzz --version >/dev/null 2>&1; then
    (cd fuzz && cargo +nightly fuzz run "$1" "corpus/$1" -- -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1)
  else
    # --target keeps the instrumentation off build scripts and proc macros, as cargo-fuzz does.
    RUSTFLAGS="$stable_flags" cargo build --release --quiet --manifest-path fuzz/Cargo.toml --target-dir target/fuzz-build --target "$host" --bin "$1" &&
      mkdir -p "fuzz/artifacts/$1" &&
      "target/fuzz-build/$host/release/$1" "fuzz/corpus/$1" -artifact_prefix="fuzz/artifacts/$1/" -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1
  fi
}
for t in "${targets[@]}"; do
  echo "== fuzzing $t for ${seconds}s"
  if ! run_target "$t" > "target/fuzz-$t.log" 2>&1; then
    grep -E "panicked|ERROR|Test unit written|artifact" "target/fuzz-$t.log" | head -n 20
    echo "fuzz target $t crashed: full log in target/fuzz-$t.log, input in fuzz/artifacts/$t/"
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "target/fuzz-$t.log" || true
done
echo "no crash in ${#targets[@]} targets"
