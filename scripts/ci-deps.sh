#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, on a Debian/Ubuntu machine, and
# fails (non-zero, saying what is missing) when it cannot: a test whose tool is missing fails too.
# Idempotent; installing needs root (CI runs as root). Users need none of this to run microcue.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() {
    echo "ci-deps: error: $*" >&2
    exit 1
}

# One line per tool the tests run: "command Debian-package why". Add tools here.
TOOLS=(
    "ffmpeg ffmpeg HEVC, MJPEG, variable-frame-rate and rotation tests decode through the ffmpeg CLI"
    "ffprobe ffmpeg the ffmpeg frame source reads timestamps with ffprobe"
    "python3 python3 benches/ort/setup.sh fetches ONNX Runtime's library with pip"
    "pip3 python3-pip benches/ort/setup.sh fetches ONNX Runtime's library with pip"
    "chromium chromium the browser test (crates/microcue/tests/browser.rs) runs the live page in headless Chromium"
    "chromedriver chromium-driver the browser test drives Chromium through WebDriver"
)

missing_packages=()
for entry in "${TOOLS[@]}"; do
    read -r command package _ <<<"$entry"
    if ! command -v "$command" >/dev/null 2>&1 && [[ " ${missing_packages[*]} " != *" $package "* ]]; then
        missing_packages+=("$package")
    fi
done

if [ ${#missing_packages[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "missing ${missing_packages[*]}; install them as root: apt-get install ${missing_packages[*]}"
    command -v apt-get >/dev/null 2>&1 || die "missing ${missing_packages[*]} and no apt-get here; install them with your package manager"
    echo "ci-deps: installing ${missing_packages[*]}" >&2
    apt-get update -qq >/dev/null || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_packages[@]}" >/dev/null ||
        die "apt-get install ${missing_packages[*]} failed"
fi
for entry in "${TOOLS[@]}"; do
    read -r command package why <<<"$entry"
    command -v "$command" >/dev/null 2>&1 || die "$command is still missing after installing $package ($why)"
done

# The Python package's tests (scripts/python-tests.sh) make a virtual environment.
if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 ||
        die "python3 cannot make virtual environments; install python3-venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null ||
        die "apt-get install python3-venv failed"
    python3 -c "import venv, ensurepip" >/dev/null 2>&1 || die "python3 still cannot make virtual environments"
fi

# ONNX Runtime's shared library for the `ort` feature's tests (benches/.ort, gitignored): the
# tests find it there; setup.sh skips the download when it is already in place.
library="$(bash benches/ort/setup.sh)" || die "benches/ort/setup.sh could not install ONNX Runtime's library (the ort backend's tests need it)"
[ -f "$library" ] || die "benches/ort/setup.sh reported $library, which does not exist"
echo "ci-deps: ready (ffmpeg $(ffmpeg -version | head -n1 | cut -d' ' -f3), $library)" >&2
