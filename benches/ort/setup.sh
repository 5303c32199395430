#!/usr/bin/env bash
# Installs ONNX Runtime's shared library for microcue's optional `ort` backend (cargo feature
# `ort`, `microcue bench --backend ort --ort-library PATH`).
#
# The library comes from the official `onnxruntime` wheel on PyPI (pinned below): the wheel is
# downloaded with pip (binary only, no dependencies) and only `libonnxruntime.so.*` is unpacked
# into benches/.ort/ (gitignored). Needs PyPI once; re-running skips what is in place. Prints the
# library's path on stdout (the last line), for `--ort-library` or ORT_DYLIB_PATH.
# Nothing else is installed, and microcue never downloads anything at run time.
set -euo pipefail

VERSION="${ORT_VERSION:-1.31.1}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DEST="$ROOT/benches/.ort"
LIB="$DEST/libonnxruntime.so.$VERSION"

die() { echo "ort/setup.sh: error: $*" >&2; exit 1; }

if [ -f "$LIB" ]; then
    echo "$LIB"
    exit 0
fi
command -v python3 >/dev/null || die "python3 not found (needed for pip)"
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || echo "warning: tested on Linux x86-64 only" >&2

mkdir -p "$DEST"
WHEELS="$(mktemp -d)"
trap 'rm -rf "$WHEELS"' EXIT
echo "downloading onnxruntime==$VERSION (wheel from PyPI, no dependencies)" >&2
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$WHEELS" \
    "onnxruntime==$VERSION" >&2 || die "pip download onnxruntime==$VERSION failed (is PyPI reachable?)"
wheel="$(ls "$WHEELS"/onnxruntime-*.whl 2>/dev/null | head -n1)"
[ -n "$wheel" ] || die "no onnxruntime wheel was downloaded"
python3 - "$wheel" "$DEST" "$VERSION" <<'PY' || die "cannot unpack libonnxruntime from $wheel"
import pathlib, sys, zipfile
wheel, dest, version = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
with zipfile.ZipFile(wheel) as archive:
    names = [n for n in archive.namelist() if "/capi/libonnxruntime.so" in n]
    if not names:
        sys.exit(f"no capi/libonnxruntime.so* in {wheel}")
    for name in names:
        target = dest / pathlib.Path(name).name
        target.write_bytes(archive.read(name))
        print(f"unpacked {target}", file=sys.stderr)
PY
[ -f "$LIB" ] || LIB="$(ls "$DEST"/libonnxruntime.so* | head -n1)"
echo "$LIB"
