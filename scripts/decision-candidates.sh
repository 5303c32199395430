#!/usr/bin/env bash
# The learned decision's training data (docs/evaluation.md, "The learned decision"): every
# candidate movement of the saved runs of the generalisation benchmark on the TUNING side of
# the split, with its features and label, from the per-frame signals the benchmark keeps.
#
# Usage: scripts/decision-candidates.sh [BENCH_DIR] [OUT_DIR]
#   BENCH_DIR  output of scripts/eval-generalisation.sh (default bench-out/generalisation)
#   OUT_DIR    default eval/decision: writes candidates.csv (one row per candidate, its run
#              by number) and runs.csv (run, side, person, clip, style, seed, encoding)
# Settings: MICROCUE=path (default: cargo build -p microcue, then target/debug/microcue; the
# dev profile is optimised), SPLIT=file (default eval/split.csv).
# Rows: injected runs give `truth` (IoU >= 0.5 with a planted movement) and `mistimed`
# (overlapping one) rows; their `other` candidates are left out (the clean run of the same
# clip has the natural ones). Clean runs give `natural` rows. Held-out runs are never read.
# Then (scripts/train-decision.sh does both):
#   microcue eval train-decision --data OUT_DIR/candidates.csv --runs OUT_DIR/runs.csv --cv 0.1,1,10
#   microcue eval train-decision --data ... --runs ... --l2 L --threshold T \
#     --out crates/microcue_core/src/spotter/decision_weights.rs
set -euo pipefail
die() {
    echo "decision-candidates.sh: error: $*" >&2
    exit 1
}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="${1:-$ROOT/bench-out/generalisation}"
OUT_DIR="${2:-$ROOT/eval/decision}"
OUT="$OUT_DIR/candidates.csv"
RUNS="$OUT_DIR/runs.csv"
SPLIT="${SPLIT:-$ROOT/eval/split.csv}"
[ -d "$BENCH/runs" ] || die "$BENCH/runs: no saved runs (run scripts/eval-generalisation.sh first)"
if [ -z "${MICROCUE:-}" ]; then
    (cd "$ROOT" && cargo build -p microcue) || die "cargo build -p microcue failed"
    MICROCUE="$ROOT/target/debug/microcue"
fi
mkdir -p "$OUT_DIR"
tmp="$OUT.tmp"
first=1
run=0
echo "run,side,person,clip,style,seed,encoding" >"$RUNS.tmp"
# export SIGNALS TRUTH|- SIDE PERSON CLIP STYLE SEED ENC: one file's candidates onto $tmp
export_candidates() {
    local signals="$1" truth="$2" args=()
    shift 2
    run=$((run + 1))
    (IFS=,; echo "$run,$*") >>"$RUNS.tmp"
    args+=(--tag "run=$run")
    [ "$truth" = - ] || args+=(--truth "$truth")
    [ $first = 1 ] || args+=(--append)
    "$MICROCUE" eval candidates --signals "$signals" "${args[@]}" --out "$tmp" 2>/dev/null \
        || die "microcue eval candidates $signals failed"
    first=0
}
person_of() {
    grep -v '^#' "$SPLIT" | awk -F, -v c="$1" '{ n = $2; sub(/\.[^.]*$/, "", n) } n == c && $1 == "tuning" { print $3; exit }'
}
for clean_dir in "$BENCH"/clean/*/; do
    clip="$(basename "$clean_dir")"
    person="$(person_of "$clip")"
    [ -n "$person" ] || continue
    for enc_dir in "$clean_dir"*/; do
        enc="$(basename "$enc_dir")"
        [ -f "$enc_dir/clean.signals.jsonl" ] || continue
        export_candidates "$enc_dir/clean.signals.jsonl" - tuning "$person" "$clip" clean 0 "$enc"
    done
done
for row in "$BENCH"/runs/*/*/row.csv; do
    IFS=, read -r side clip person _kind style seed <"$row"
    [ "$side" = tuning ] || continue
    for enc_dir in "$(dirname "$row")"/*/; do
        enc="$(basename "$enc_dir")"
        [ -f "$enc_dir/report.json" ] || continue
        export_candidates "$enc_dir/injected.signals.jsonl" "$enc_dir/truth.csv" tuning "$person" "${clip%.*}" "$style" "$seed" "$enc"
    done
done
[ $first = 0 ] || die "no tuning runs in $BENCH"
# `other` rows of injected runs are left out (see the header).
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "label") col = i; print; next } $col != "other"' "$tmp" >"$OUT"
rm -f "$tmp"
mv "$RUNS.tmp" "$RUNS"
echo "$OUT: $(($(wc -l <"$OUT") - 1)) candidates ($(du -h "$OUT" | cut -f1))"
