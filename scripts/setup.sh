#!/usr/bin/env bash
# Create .venv and install askdocs with its test tools, at the versions in constraints.txt.
# PyTorch's CPU build goes in first, pinned, so that nothing can pull the multi-GB CUDA build:
# from PyTorch's CPU wheel index when it can be reached, else from the registry (torch==2.13.0).
# Prints one timed line per step; pip's output goes to .venv/setup.log (its tail on failure).
# Safe to run again: a step whose result is already there is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH=2.13.0
CPU_INDEX=${ASKDOCS_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}  # PyTorch's CPU wheels
PY=.venv/bin/python
LOG=.venv/setup.log
STAMP=.venv/.askdocs-deps.sha256  # hash of pyproject.toml + constraints.txt last installed

T0=$EPOCHREALTIME
say() { echo "askdocs setup: $*" >&2; }
pip() { "$PY" -m pip --disable-pip-version-check "$@" >>"$LOG" 2>&1; }

# step LABEL FUNCTION: run FUNCTION, then print LABEL (which FUNCTION may change) and the time.
# set -e is off inside an `if`, so the functions chain their commands with && or `|| return`.
step() {
  local t0=$EPOCHREALTIME
  LABEL=$1
  if ! "$2"; then
    say "$LABEL failed; last lines of $LOG:"
    tail -n 20 "$LOG" >&2
    exit 1
  fi
  say "$LABEL … $(since "$t0") s"
}
since() { awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $1 }"; }

mkdir -p .venv && echo "=== scripts/setup.sh $(date -Is)" >>"$LOG"
make_venv() { "$PYTHON" -m venv .venv >>"$LOG" 2>&1; }
if [ -x "$PY" ]; then say "venv (already there)"; else step "venv created" make_venv; fi

# torch: acceptable = 2.13.0 (any local label such as +cpu) built without CUDA.
torch_ok() {
  "$PY" -c "import sys, torch
sys.exit(torch.__version__.split('+')[0] != '$TORCH' or torch.version.cuda is not None)" 2>/dev/null
}
cpu_index_up() {  # a quick HEAD (timeout also bounds DNS), so a blocked network fails in seconds
  timeout 10 "$PY" -c "import urllib.request as u
u.urlopen(u.Request('$CPU_INDEX/torch/', method='HEAD'), timeout=5)" 2>/dev/null
}
install_torch() {
  local from="registry fallback"
  if "$PY" -m pip show -q torch 2>/dev/null; then pip uninstall -y torch || return; fi
  if cpu_index_up &&
    pip install --no-deps --index-url "$CPU_INDEX" --timeout 15 --retries 0 "torch==$TORCH"; then
    from="PyTorch CPU index"
  fi
  # The fallback's torch itself, or after the CPU index only torch's dependencies.
  pip install -c constraints.txt "torch==$TORCH" || return
  if ! "$PY" -c "import torch; assert torch.version.cuda is None" 2>/dev/null; then
    say "torch from the $from is not a CPU build (CUDA $("$PY" -c 'import torch; print(torch.version.cuda)' 2>&1 | tail -n 1)); needs $CPU_INDEX"
    exit 1
  fi
  LABEL="torch $TORCH (CPU, $from)"
}
if torch_ok; then say "torch $TORCH (CPU, already there)"; else step "torch $TORCH" install_torch; fi

# askdocs and its dependencies, skipped while pyproject.toml and constraints.txt are unchanged.
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
install_project() {
  pip install -c constraints.txt -e ".[dev]" &&
    "$PY" -c "import torch, sentence_transformers, faiss, discord, onnxruntime, tokenizers" \
      >>"$LOG" 2>&1 &&
    echo "$want" >"$STAMP"
}
if [ "$(cat "$STAMP" 2>/dev/null)" = "$want" ]; then
  say "askdocs and its dependencies (already there)"
else
  step "askdocs and its dependencies" install_project
fi
say "done … $(since "$T0") s"
