#!/usr/bin/env bash
# The official mlflow client and scikit-learn, for the tests that drive
# Enclave's MLflow-compatible tracking server with them
# (cmd/enclave/mlflow_e2e_test.go). ensure_mlflow makes, once, a Python
# virtual environment with both from PyPI in ~/.cache/enclave-test/mlflow-venv
# (or in $ENCLAVE_MLFLOW_VENV), checks that `import mlflow, sklearn` works,
# and exports ENCLAVE_TEST_MLFLOW_PYTHON, the environment's python. A healthy
# environment is reused without calling pip; a broken one is made again.
#
# Sourced by scripts/test.sh, which defines log, as_root and apt_install.
# Run directly, it makes the environment and prints the python's path on
# stdout (everything else goes to stderr):
#   ENCLAVE_TEST_MLFLOW_PYTHON=$(scripts/mlflow.sh)

MLFLOW_VENV=${ENCLAVE_MLFLOW_VENV:-${ENCLAVE_TEST_CACHE:-$HOME/.cache/enclave-test}/mlflow-venv}
# Any mlflow 3.x: the tests follow the client the project's users install.
MLFLOW_REQUIREMENT='mlflow>=3,<4'

# Run directly, the helpers of scripts/test.sh are not there.
if ! declare -F log >/dev/null; then
  log() { printf '==> %s\n' "$*" >&2; }
fi
if ! declare -F as_root >/dev/null; then
  as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
      log "need root to run: $*"; return 1; fi
  }
fi
if ! declare -F apt_install >/dev/null; then
  apt_install() {
    as_root apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >&2
  }
fi

# mlflow_versions prints "mlflow X scikit-learn Y" from the environment's
# package metadata: milliseconds, where importing mlflow takes seconds.
mlflow_versions() {
  "$MLFLOW_VENV/bin/python" -c 'import importlib.metadata as m
print("mlflow", m.version("mlflow"), "scikit-learn", m.version("scikit-learn"))' 2>/dev/null
}

# mlflow_venv_healthy: the python runs, and the versions are those that
# imported successfully when the environment was made (the stamp file).
mlflow_venv_healthy() {
  local stamp=$MLFLOW_VENV/.enclave-mlflow-ok versions
  [ -x "$MLFLOW_VENV/bin/python" ] && [ -f "$stamp" ] || return 1
  versions=$(mlflow_versions) || return 1
  [ "$versions" = "$(cat "$stamp")" ]
}

# mlflow_python3 prints a python3 whose venv module works, installing
# Debian's python3-venv (and pythonX.Y-venv, where ensurepip lives) when needed.
mlflow_python3() {
  local py probe ok=""
  if ! py=$(command -v python3); then
    log "installing python3 and python3-venv from Debian's packages (for the mlflow client)"
    apt_install python3 python3-venv >&2 || return 1
    py=$(command -v python3) || return 1
  fi
  probe=$(mktemp -d "${TMPDIR:-/tmp}/enclave-venv-probe.XXXXXX")
  if "$py" -m venv "$probe/v" >/dev/null 2>&1; then
    ok=1
  else
    local ver
    ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    log "python3 -m venv does not work: installing python3-venv from Debian's packages"
    apt_install python3-venv >&2 || true
    rm -rf "$probe/v"
    if "$py" -m venv "$probe/v" >/dev/null 2>&1; then
      ok=1
    else
      apt_install "python$ver-venv" >&2 || true
      rm -rf "$probe/v"
      "$py" -m venv "$probe/v" >/dev/null 2>&1 && ok=1
    fi
  fi
  rm -rf "$probe"
  [ -n "$ok" ] || { log "python3 -m venv does not work with $py"; return 1; }
  echo "$py"
}

# ensure_mlflow makes the environment when it is missing or broken, and
# exports ENCLAVE_TEST_MLFLOW_PYTHON (and ENCLAVE_TEST_REQUIRE_MLFLOW=1, so
# that the tests fail rather than skip without it).
ensure_mlflow() {
  local stamp=$MLFLOW_VENV/.enclave-mlflow-ok start=$SECONDS
  if ! mlflow_venv_healthy; then
    if [ -x "$MLFLOW_VENV/bin/python" ] && "$MLFLOW_VENV/bin/python" -c 'import mlflow, sklearn, sys
sys.exit(0 if mlflow.__version__.startswith("3.") else 1)' >/dev/null 2>&1; then
      # A working environment without the stamp (given in ENCLAVE_MLFLOW_VENV,
      # or whose packages changed): adopt it as it is.
      mlflow_versions >"$stamp" || return 1
    else
      if [ -e "$MLFLOW_VENV" ] && ! "$MLFLOW_VENV/bin/python" -c '' >/dev/null 2>&1; then
        if [ -n "${ENCLAVE_MLFLOW_VENV:-}" ]; then
          log "$MLFLOW_VENV exists but has no working python; remove it or set ENCLAVE_MLFLOW_VENV elsewhere"
          return 1
        fi
        rm -rf "$MLFLOW_VENV"
      fi
      local py
      py=$(mlflow_python3) || return 1
      log "installing the mlflow client and scikit-learn from PyPI into $MLFLOW_VENV (once; a few minutes)"
      mkdir -p "$(dirname "$MLFLOW_VENV")"
      if [ ! -x "$MLFLOW_VENV/bin/python" ]; then
        "$py" -m venv "$MLFLOW_VENV" >&2 || return 1
      fi
      rm -f "$stamp"
      # pip's messages go to stderr: stdout carries only the python's path.
      "$MLFLOW_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
        "$MLFLOW_REQUIREMENT" scikit-learn >&2 || { log "pip install of mlflow and scikit-learn failed"; return 1; }
      # The real check, which takes seconds (importing mlflow is slow): only here.
      "$MLFLOW_VENV/bin/python" -c 'import mlflow, sklearn' >&2 ||
        { log "import mlflow, sklearn fails in $MLFLOW_VENV"; return 1; }
      mlflow_versions >"$stamp" || return 1
    fi
    log "prepared $MLFLOW_VENV in $((SECONDS - start)) s"
  fi
  export ENCLAVE_TEST_MLFLOW_PYTHON=$MLFLOW_VENV/bin/python
  export ENCLAVE_TEST_REQUIRE_MLFLOW=1
  log "$(cat "$stamp") in $MLFLOW_VENV"
}

# Run directly: make the environment and print its python.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  ensure_mlflow
  echo "$ENCLAVE_TEST_MLFLOW_PYTHON"
fi
