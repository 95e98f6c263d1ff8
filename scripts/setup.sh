#!/usr/bin/env bash
# Create .venv and install askdocs with its test tools. Safe to run again (only installs
# what is missing). PyTorch's CPU build goes in first, pinned, so that nothing can pull the
# multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "askdocs setup: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "askdocs setup: installing torch 2.13.0 (CPU)" >&2
  pip install "torch==2.13.0"
fi
echo "askdocs setup: installing askdocs and its dependencies" >&2
pip install -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" >&2 || true
.venv/bin/python -c "import torch, sentence_transformers, faiss, discord; assert not torch.version.cuda, 'CUDA torch installed'" \
  || { echo "askdocs setup: install failed" >&2; exit 1; }
