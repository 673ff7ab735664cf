#!/usr/bin/env bash
# End-to-end check of the CUDA path on a GPU host (not run in CI: CI has no GPU).
# Fetches the onnxruntime-gpu wheel of the pinned version, extracts its libraries, runs the tweets
# fixtures with the teacher and students on CUDA, and checks the report says CUDAExecutionProvider
# and that the fp32 numbers match the CPU run.
# Usage: scripts/check-cuda.sh [device, default cuda:0]
set -euo pipefail
cd "$(dirname "$0")/.."
device="${1:-cuda:0}"
version=1.31.1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$work/wheel" "onnxruntime-gpu==$version"
python3 - "$work" <<'PY'
import glob, os, sys, zipfile
work = sys.argv[1]
z = zipfile.ZipFile(glob.glob(os.path.join(work, "wheel", "*.whl"))[0])
os.makedirs(os.path.join(work, "lib"), exist_ok=True)
for name in z.namelist():
    base = os.path.basename(name)
    if name.startswith("onnxruntime/capi/") and base.startswith("libonnxruntime"):
        open(os.path.join(work, "lib", base), "wb").write(z.read(name))
PY
# The CUDA provider library needs CUDA 12/13 runtime libraries (cudart, cublas, cudnn) on the
# loader path, e.g. from the nvidia-* pip wheels or the CUDA toolkit.
export LD_LIBRARY_PATH="$work/lib:${LD_LIBRARY_PATH:-}"
cargo build --release --quiet
models=(fixtures/tweets/teacher.onnx fixtures/tweets/pruned.onnx fixtures/tweets/distilled.onnx fixtures/tweets/int8.onnx)
./target/release/fidelity compare "${models[@]}" --data fixtures/tweets/test.jsonl --bootstrap 0 \
  --ort-lib "$work/lib/libonnxruntime.so.$version" --device "$device" --out "$work/gpu.json"
./target/release/fidelity compare "${models[@]}" --data fixtures/tweets/test.jsonl --bootstrap 0 \
  --ort-lib "$work/lib/libonnxruntime.so.$version" --out "$work/cpu.json" --quiet > /dev/null
python3 - "$work" <<'PY'
import json, os, sys
gpu = json.load(open(os.path.join(sys.argv[1], "gpu.json")))
cpu = json.load(open(os.path.join(sys.argv[1], "cpu.json")))
assert gpu["teacher"]["provider"] == "CUDAExecutionProvider", gpu["teacher"]["provider"]
for g, c in zip(gpu["students"], cpu["students"]):
    assert g["model"]["provider"] == "CUDAExecutionProvider", g["model"]["name"]
    if g["model"]["name"] != "int8":  # int8 kernels differ between providers
        assert abs(g["fidelity"]["label_loyalty"] - c["fidelity"]["label_loyalty"]) < 2e-3, g["model"]["name"]
print("CUDA path OK:", {s["model"]["name"]: s["fidelity"]["label_loyalty"] for s in gpu["students"]})
PY
