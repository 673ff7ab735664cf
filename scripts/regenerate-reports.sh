#!/usr/bin/env bash
# Regenerates reports/ from every suite in suites/ (JSON, Markdown, HTML, JUnit per suite).
# A test (tests/cli/reports.rs) checks the committed reports match a fresh run, timing fields aside.
# Usage: scripts/regenerate-reports.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
./target/release/fidelity schema > reports/report.schema.json
for suite in suites/*.toml; do
  echo "== $suite"
  # Exit 1 means a gate failed: that is a result to publish, not an error.
  ./target/release/fidelity compare --suite "$suite" --quiet > /dev/null || [ $? -eq 1 ]
done
