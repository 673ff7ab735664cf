#!/usr/bin/env bash
# Runs the golden-value, report-freshness and portability tests on two more ONNX Runtime kernel
# classes from one x86-64 machine, through Debian's qemu-user (apt-get install qemu-user):
#   Haswell  (AVX2, no VNNI: the u8s8 GEMM saturates)  fidelity and the Python reference both emulated
#   Nehalem  (SSE4.2: other fp32 kernels, exact u8s8)  fidelity emulated; numpy 2.4's wheels need more
#            than SSE4.2, so only the tests without Python reference values run there
# The tests themselves run natively too (README command 2), so a change is checked on three classes.
# FIDELITY_TEST_WRAPPER (tests/cli/util.rs, scripts/golden.sh) puts qemu in front of every run.
# The language-model suite's report is checked on Nehalem, not Haswell: qemu's AVX2 emulation
# takes over 20 minutes for its five models (4 s natively); its numbers are checked natively.
# Usage: scripts/test-kernel-classes.sh    (about 4 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v qemu-x86_64 >/dev/null || { echo "qemu-x86_64 not found: apt-get install qemu-user" >&2; exit 2; }
[[ "$(uname -m)" == x86_64 ]] || { echo "qemu-x86_64 emulates x86-64 CPUs on an x86-64 host here" >&2; exit 2; }
# qemu notes every host CPUID feature its TCG does not emulate, on every start.
quiet() { grep -v "TCG doesn't support requested feature" || true; }
echo "== Haswell (AVX2): golden values, freshness, portability"
FIDELITY_TEST_WRAPPER="qemu-x86_64 -cpu Haswell" cargo test --release --locked --test cli -- \
  adult:: classes:: noise::tweets_noise noise::adult_noise populations::tweets_populations tweets:: serving:: tokenization:: hub::compare_takes reports::committed_reports portability:: 2>&1 | quiet
echo "== Nehalem (SSE4.2): freshness, portability"
FIDELITY_TEST_WRAPPER="qemu-x86_64 -cpu Nehalem" cargo test --release --locked --test cli -- \
  reports::committed portability::every_report 2>&1 | quiet
