#!/usr/bin/env bash
# Set everything up, lint, and run the whole test suite (what CI runs).
# --fast: the quick loop, without the answer-quality (slow) and end-to-end (e2e) tests.
# Any other arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for arg in "$@"; do
    if [[ $arg == --fast ]]; then
        args+=(-m "not slow and not e2e")
    else
        args+=("$arg")
    fi
done
bash scripts/setup.sh
bash scripts/chromium.sh  # the HTML report's browser test (skips without it)
export HF_HUB_OFFLINE=1
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy  # strict on index/ (see pyproject)
.venv/bin/python -m pytest -q -p no:cacheprovider ${args[@]+"${args[@]}"}
