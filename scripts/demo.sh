#!/usr/bin/env bash
# Quick start: set everything up, index source_docs/ and answer a sample question.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/askdocs index
.venv/bin/askdocs ask "${1:-Who is Kim Jong Un meeting?}"
