#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain, on a fresh Debian machine.
# Idempotent; needs root (CI runs as root). Everything here is optional for users.
set -euo pipefail
need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "ci-deps: installing ${need[*]} (HEVC/MJPEG decoding tests)" >&2
    if ! { apt-get update -qq >/dev/null &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }; then
      echo "ci-deps: could not install ${need[*]}; tests that need it will skip with a printed reason" >&2
    fi
  else
    echo "ci-deps: ${need[*]} missing and cannot install (not root or no apt-get); tests that need it will skip" >&2
  fi
fi
