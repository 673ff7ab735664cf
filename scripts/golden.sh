#!/usr/bin/env bash
# Golden values of a fixture case as ONNX Runtime computes them on THIS machine:
#   scripts/golden.sh tweets|adult|exporters OUT.json
#   scripts/golden.sh noise OUT.json tweets|adult NOISY.jsonl   (fixtures/noise_reference.py)
#   scripts/golden.sh populations OUT.json                      (fixtures/population_reference.py)
#   scripts/golden.sh locate OUT.json REPORT.json [TOKENIZER MAX_LENGTH] (fixtures/locate_reference.py)
#   scripts/golden.sh resize OUT.bin                            (fixtures/resize_reference.py: Pillow's resize)
#   scripts/golden.sh images OUT.json --images DIR|MANIFEST.csv [--image-column C] [--tensors-out DIR] MODEL_DIR...
#                                                               (fixtures/image_reference.py: image classifiers,
#                                                               the first MODEL_DIR is the teacher)
# Runs fixtures/make_<case>.py --golden-only, which reads only the committed model and data files
# (onnxruntime + numpy/scipy, and statsmodels/fairlearn for Adult; none of the training code), in a
# venv with the exact pins of fixtures/requirements.txt and fixtures/adult/requirements.txt at
# target/golden-venv (made once, ~1 minute from PyPI; rebuilt when the pins change). The int8
# fixtures' numbers depend on the CPU's integer kernels, so the tests compare fidelity with
# values made here, never with numbers made on another kind of CPU. Concurrent runs share one
# venv build (a lock file).
set -euo pipefail
case_name=${1:?usage: scripts/golden.sh tweets|adult|exporters|noise|populations|deployed|lm|choices|resize|locate|images OUT.json}
out=${2:?usage: scripts/golden.sh tweets|adult|exporters OUT.json}
cd "$(dirname "$0")/.."
venv=target/golden-venv
mkdir -p target
pins=$(cat fixtures/requirements.txt fixtures/adult/requirements.txt)
exec 9> target/golden-venv.lock
flock 9
if [[ ! -x "$venv/bin/python" ]] || [[ "$(cat "$venv/pins.txt" 2>/dev/null)" != "$pins" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r fixtures/requirements.txt -r fixtures/adult/requirements.txt
  printf '%s' "$pins" > "$venv/pins.txt"
fi
exec 9>&-
# FIDELITY_TEST_WRAPPER (e.g. "qemu-x86_64 -cpu Haswell") runs the reference on the same
# emulated CPU as fidelity (scripts/test-kernel-classes.sh). pandas' groupby crashes under
# qemu-user, so the Adult script's fairlearn cross-check (it asserts, it makes no number) is off there.
if [[ -n "${FIDELITY_TEST_WRAPPER:-}" ]]; then export FIDELITY_NO_FAIRLEARN_CHECK=1; fi
case "$case_name" in
  noise) exec ${FIDELITY_TEST_WRAPPER:-} "$venv/bin/python" fixtures/noise_reference.py "$out" "${@:3}" ;;
  populations) exec ${FIDELITY_TEST_WRAPPER:-} "$venv/bin/python" fixtures/population_reference.py "$out" ;;
  lm) exec ${FIDELITY_TEST_WRAPPER:-} "$venv/bin/python" fixtures/lm_reference.py "$out" ;;
  choices) exec ${FIDELITY_TEST_WRAPPER:-} "$venv/bin/python" fixtures/choice_reference.py "$out" ;;
  deployed) exec ${FIDELITY_TEST_WRAPPER:-} "$venv/bin/python" fixtures/deployed_reference.py "$out" ;;
  resize) exec ${FIDELITY_TEST_WRAPPER:-} "$venv/bin/python" fixtures/resize_reference.py "$out" ;;
  locate) exec ${FIDELITY_TEST_WRAPPER:-} "$venv/bin/python" fixtures/locate_reference.py "$out" "${@:3}" ;;
  images) exec ${FIDELITY_TEST_WRAPPER:-} "$venv/bin/python" fixtures/image_reference.py "$out" "${@:3}" ;;
esac
${FIDELITY_TEST_WRAPPER:-} "$venv/bin/python" "fixtures/make_${case_name}.py" --golden-only "$out"
