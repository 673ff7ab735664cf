#!/usr/bin/env bash
# No import circle between src/'s modules, no file over 600 lines, no function over 80 (see
# check-layout.py). Also run by the test `layout_rules_hold` (tests/cli/layout.rs).
exec python3 "$(dirname "$0")/check-layout.py"
