#!/usr/bin/env bash
# Peer benchmark: microcue vs MediaPipe's own FaceLandmarker on the same clip, in the same run,
# each pinned to one core. Prints both end-to-end frames/s, their ratio (ours / mediapipe) and
# compare.py's accuracy table (landmark distance in px, per-blendshape correlation).
#
# microcue runs twice: as it ships (the speed figures), and with --mediapipe-video-mode (raw
# landmark crops on MediaPipe's sampling grid, output landmarks smoothed with MediaPipe's one-euro
# filter, as MediaPipe's VIDEO mode does) for the accuracy table, so that like is compared with
# like. The second run's frames/s is printed too: the mode costs the same.
#
# Usage: benches/mediapipe_peer/run.sh VIDEO [OUT_DIR]
#   OUT_DIR defaults to bench-out/mediapipe_peer/<clip name> (gitignored).
#   CORE=1 to pin to another core; MICROCUE=path/to/microcue to use another binary;
#   MICROCUE_ARGS="--backend ort --ort-library PATH" passes extra options to `microcue bench`.
# Sets up benches/.venv on first use (setup.sh, needs PyPI once); builds target/release/microcue
# with `cargo build --release -p microcue` if it is missing. A benchmark, not part of the test suite.
set -euo pipefail

die() { echo "run.sh: error: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: $0 VIDEO [OUT_DIR]"
VIDEO="$1"
[ -f "$VIDEO" ] || die "$VIDEO: no such video file"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$ROOT/benches/.venv"
CORE="${CORE:-0}"
MICROCUE="${MICROCUE:-$ROOT/target/release/microcue}"
clip="$(basename "$VIDEO")"
OUT="${2:-$ROOT/bench-out/mediapipe_peer/${clip%.*}}"
mkdir -p "$OUT"

if [ ! -x "$VENV/bin/python" ] || [ ! -f "$VENV/face_landmarker_v2.task" ]; then
    "$HERE/setup.sh"
fi
if [ ! -x "$MICROCUE" ]; then
    [ "$MICROCUE" = "$ROOT/target/release/microcue" ] || die "$MICROCUE: not an executable"
    echo "building $MICROCUE (cargo build --release -p microcue)"
    (cd "$ROOT" && cargo build --release -p microcue) || die "cargo build --release -p microcue failed"
fi

PIN=()
if command -v taskset >/dev/null; then
    PIN=(taskset -c "$CORE")
else
    echo "warning: taskset not found (util-linux); running unpinned" >&2
fi

# Pulls the number after "KEY:" from a log (first match).
field() { sed -n "s/^$1:[[:space:]]*\([0-9.][0-9.]*\).*/\1/p" "$2" | head -n1; }

read -r -a EXTRA <<< "${MICROCUE_ARGS:-}"
echo "== microcue: ${PIN[*]} $MICROCUE bench $VIDEO ${EXTRA[*]}"
"${PIN[@]}" "$MICROCUE" bench "$VIDEO" "${EXTRA[@]}" 2>&1 | tee "$OUT/ours.log" \
    || die "microcue bench failed (log: $OUT/ours.log)"
echo
echo "== microcue, MediaPipe's VIDEO mode: ${PIN[*]} $MICROCUE bench $VIDEO --mediapipe-video-mode --signals-out $OUT/ours.jsonl ${EXTRA[*]}"
"${PIN[@]}" "$MICROCUE" bench "$VIDEO" --mediapipe-video-mode --signals-out "$OUT/ours.jsonl" "${EXTRA[@]}" \
    >"$OUT/ours_mediapipe_mode.log" 2>&1 \
    || { cat "$OUT/ours_mediapipe_mode.log" >&2; die "microcue bench --mediapipe-video-mode failed"; }
echo
echo "== mediapipe: ${PIN[*]} $VENV/bin/python $HERE/mediapipe_run.py $VIDEO --out $OUT/mp.jsonl"
# MediaPipe's native logging (absl/TFLite INFO and warnings) goes to stderr; keep it out of the table.
"${PIN[@]}" "$VENV/bin/python" "$HERE/mediapipe_run.py" "$VIDEO" --out "$OUT/mp.jsonl" \
    2>"$OUT/mp.stderr" | tee "$OUT/mp.log" || { cat "$OUT/mp.stderr" >&2; die "mediapipe_run.py failed"; }
grep -E "^(warning|mediapipe_run)" "$OUT/mp.stderr" >&2 || true

ours_fps="$(field end_to_end_fps "$OUT/ours.log")"
mp_fps="$(field end_to_end_fps "$OUT/mp.log")"
mp_inf_fps="$(field inference_fps "$OUT/mp.log")"
ours_cpu="$(field cpu_ms_per_frame "$OUT/ours.log")"
ours_mode_fps="$(field end_to_end_fps "$OUT/ours_mediapipe_mode.log")"
mp_cpu="$(field inference_cpu_ms_per_frame "$OUT/mp.log")"
[ -n "$ours_fps" ] || die "no 'end_to_end_fps: N' line in microcue's output ($OUT/ours.log)"
[ -n "$mp_fps" ] || die "no 'end_to_end_fps: N' line in mediapipe_run.py's output ($OUT/mp.log)"

echo
echo "== speed, one core (${PIN[*]:-unpinned}), $clip"
printf '%-34s %10s\n' "" "frames/s"
printf '%-34s %10s\n' "microcue end-to-end" "$ours_fps"
printf '%-34s %10s\n' "  (in MediaPipe's VIDEO mode)" "${ours_mode_fps:-?}"
printf '%-34s %10s\n' "mediapipe end-to-end" "$mp_fps"
printf '%-34s %10s\n' "mediapipe inference only" "$mp_inf_fps"
awk -v a="$ours_fps" -v b="$mp_fps" 'BEGIN { printf "%-34s %10.2f\n", "ratio ours / mediapipe (e2e)", a / b }'
printf '%-34s %10s\n' "microcue CPU ms/frame (all stages)" "${ours_cpu:-?}"
printf '%-34s %10s\n' "mediapipe CPU ms/frame (inference)" "${mp_cpu:-?}"
echo
echo "== accuracy: microcue in MediaPipe's VIDEO mode vs mediapipe"
"$VENV/bin/python" "$HERE/compare.py" "$OUT/ours.jsonl" "$OUT/mp.jsonl" | tee "$OUT/compare.txt"
echo
echo "outputs in $OUT"
