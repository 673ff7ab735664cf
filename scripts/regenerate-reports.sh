#!/usr/bin/env bash
# Regenerates reports/ from every suite: suites/*.toml and the real-model suite
# suites/real/minilm.toml (its models are built first by scripts/make_minilm.sh, a no-op once built).
# JSON, Markdown, HTML and JUnit per suite. Tests (tests/cli/reports.rs, tests/cli/minilm.rs) check
# the committed reports match a fresh run, timing fields aside.
# Usage: scripts/regenerate-reports.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
fidelity="${CARGO_TARGET_DIR:-target}/release/fidelity"
"$fidelity" schema > reports/report.schema.json
scripts/make_minilm.sh > /dev/null
for suite in suites/*.toml suites/real/minilm.toml; do
  echo "== $suite"
  # Exit 1 means a gate failed: that is a result to publish, not an error.
  # --no-cache: the committed reports do not depend on what a cache held.
  "$fidelity" compare --suite "$suite" --quiet --no-cache > /dev/null || [ $? -eq 1 ]
done
