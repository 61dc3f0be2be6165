#!/usr/bin/env bash
# Creates the project's virtual environment from the pinned lock: ./bootstrap.sh [VENV_DIR]
# TFX 1.16 needs Python 3.10, which is rarely the default python3, so it is located explicitly:
# $PYTHON310, then python3.10 on PATH, then pyenv's versions/3.10.*.
set -euo pipefail
cd "$(dirname "$0")"
venv="${1:-.venv}"

is_py310() { [ -n "$1" ] && [ -x "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; }

find_python310() {
  local candidates=("${PYTHON310:-}" "$(command -v python3.10 || true)")
  local roots=()
  if command -v pyenv >/dev/null 2>&1; then roots+=("$(pyenv root)"); fi
  roots+=("${PYENV_ROOT:-}" "$HOME/.pyenv" /root/.pyenv /opt/pyenv)
  for root in "${roots[@]}"; do
    [ -n "$root" ] || continue
    for p in $(ls -d "$root"/versions/3.10.*/bin/python3 2>/dev/null | sort -rV); do candidates+=("$p"); done
  done
  for p in "${candidates[@]}"; do
    if is_py310 "$p"; then echo "$p"; return 0; fi
  done
  return 1
}

if ! is_py310 "$venv/bin/python"; then
  py="$(find_python310)" || {
    echo "error: Python 3.10 not found. TFX 1.16 requires Python 3.10 (>=3.9,<3.11)." >&2
    echo "       Install it (e.g. 'pyenv install 3.10') or point PYTHON310 at a python3.10 binary." >&2
    exit 1
  }
  echo "bootstrap: creating $venv with $py"
  rm -rf "$venv"
  "$py" -m venv "$venv"
fi

# pip warns once per package about index folders this machine's pip config names but lacks; hide that.
pip_install() {
  "$venv/bin/python" -m pip install --quiet "$@" 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  return "${PIPESTATUS[0]}"
}
pip_install --upgrade "pip==24.3.1" "setuptools==75.6.0" "wheel==0.45.1"
echo "bootstrap: installing the pinned lock (a few minutes on a fresh machine)"
pip_install -r requirements.lock
pip_install --no-deps --no-build-isolation -e .
touch "$venv/.installed"
echo "bootstrap: ready ($("$venv/bin/python" --version), $venv)"
