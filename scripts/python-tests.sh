#!/usr/bin/env bash
# The Python package's tests (python/tests, pytest), as CI runs them: builds the wheel in the dev
# profile (the team rule for test wheels: the Rust build is shared with `cargo test`), installs it
# into a fresh virtual environment with what the tests need (python/tests/requirements.txt) and
# runs pytest, which compares the package with the `microcue` binary of the same checkout
# (target/debug/microcue, or under CARGO_TARGET_DIR; `cargo build -p microcue` first). VENV=dir picks the environment's
# folder (default target/python-tests-venv, recreated on every run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() {
    echo "python-tests: error: $*" >&2
    exit 1
}

venv="${VENV:-target/python-tests-venv}"
python="${PYTHON:-python3}"
binary="$(realpath -m "${CARGO_TARGET_DIR:-target}")/debug/microcue"
[ -x "$binary" ] || die "$binary is missing; build it first: cargo build -p microcue"
# Before anything slow: the wheel must reuse the workspace build's dependencies, not rebuild tract.
"$python" scripts/python-features.py
rm -rf "$venv"
"$python" -m venv "$venv" || die "cannot create a virtual environment with $python (Debian: apt-get install python3-venv)"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r python/tests/requirements.txt ||
    die "cannot install python/tests/requirements.txt (PyPI must be reachable)"
rm -rf target/python-wheels
"$venv/bin/maturin" build --quiet --profile dev --manifest-path python/Cargo.toml --out target/python-wheels ||
    die "maturin could not build the wheel"
"$venv/bin/python" -m pip install --quiet target/python-wheels/microcue-*.whl
MICROCUE_BIN="$binary" "$venv/bin/python" -m pytest -q python/tests
