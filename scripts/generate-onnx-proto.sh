#!/usr/bin/env bash
# Regenerates src/onnx/proto/onnx.rs from the vendored src/onnx/proto/onnx-ml.proto (ONNX 1.23.2,
# the same version the fixture scripts pin). Needs only cargo: protox compiles the proto in Rust.
# The test `onnx::proto_is_generated_from_the_vendored_file` fails until this is run after the
# vendored file changes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet --manifest-path scripts/onnx-proto-codegen/Cargo.toml \
  --target-dir target/onnx-proto-codegen -- src/onnx/proto/onnx-ml.proto src/onnx/proto/onnx.rs
sha=$(sha256sum src/onnx/proto/onnx-ml.proto | cut -d' ' -f1)
sed -i "1a // onnx-ml.proto sha256: $sha" src/onnx/proto/onnx.rs
echo "wrote src/onnx/proto/onnx.rs ($(wc -l < src/onnx/proto/onnx.rs) lines) from onnx-ml.proto $sha"
