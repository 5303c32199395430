#!/usr/bin/env bash
# The learned decision's tuning-side figures without training on what is scored
# (docs/evaluation.md, "The learned decision"): for each person of the tuning side, a model
# trained on the other people's candidates (eval/decision/) re-scores that person's saved runs
# (`RESCORE=1 scripts/eval-generalisation.sh` with the model in the spotter settings); then
# F1 pooled per style and encoding over all people, and natural micro events per minute.
#
# Usage: scripts/decision-crossval.sh [BENCH_DIR]   (default bench-out/generalisation)
# Settings: L2 (default 30), THRESHOLD (default 0.3), MICROCUE=path (default target/debug/microcue
# after cargo build -p microcue), SPLIT=file (default eval/split.csv).
# Writes BENCH_DIR/crossval/report.md. Needs jq.
set -euo pipefail
die() {
    echo "decision-crossval.sh: error: $*" >&2
    exit 1
}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH="${1:-$ROOT/bench-out/generalisation}"
SPLIT="${SPLIT:-$ROOT/eval/split.csv}"
command -v jq >/dev/null || die "jq is missing: install it (apt-get install jq)"
if [ -z "${MICROCUE:-}" ]; then
    (cd "$ROOT" && cargo build -p microcue) || die "cargo build -p microcue failed"
    MICROCUE="$ROOT/target/debug/microcue"
fi
out="$BENCH/crossval"
mkdir -p "$out"
mapfile -t people < <(grep -v '^#' "$SPLIT" | awk -F, '$1 == "tuning" { print $3 }' | sort -u)
for person in "${people[@]}"; do
    "$MICROCUE" eval train-decision --data "$ROOT/eval/decision/candidates.csv" --runs "$ROOT/eval/decision/runs.csv" \
        --exclude-person "$person" --l2 "${L2:-30}" --threshold "${THRESHOLD:-0.3}" --json "$out/$person.model.json" >/dev/null
    jq '{decision: "learned", decision_model: .}' "$out/$person.model.json" >"$out/cv-$person.json"
    RESCORE=1 MICROCUE="$MICROCUE" SPOTTER_CONFIG="$out/cv-$person.json" RESCORE_NAME="cv-$person" \
        "$ROOT/scripts/eval-generalisation.sh" "$BENCH" >/dev/null
done
{
    echo "| style | encoding | events | F1 | F1 100-500 ms | F1 40-100 ms | natural micro/min |"
    echo "|---|---|---|---|---|---|---|"
    for style in warp au; do
        for enc in y4m webcam phone; do
            args=()
            micro=0
            seconds=0
            for person in "${people[@]}"; do
                tree="$BENCH/rescore-cv-$person"
                for row in "$tree"/runs/*/"$style"-*/row.csv; do
                    [ -f "$row" ] || continue
                    IFS=, read -r side _clip row_person _ <"$row"
                    [ "$side" = tuning ] && [ "$row_person" = "$person" ] || continue
                    [ -f "$(dirname "$row")/$enc/report.json" ] && args+=(--run "$(dirname "$row")/$enc")
                done
                for clip in $(grep -v '^#' "$SPLIT" | awk -F, -v p="$person" '$1 == "tuning" && $3 == p { n = $2; sub(/\.[^.]*$/, "", n); print n }' | sort -u); do
                    events="$tree/clean/$clip/$enc/clean.jsonl"
                    [ -f "$events" ] || continue
                    micro=$((micro + $(jq -s 'map(select((.kind // "event") == "event" and .scale == "micro")) | length' "$events")))
                    seconds=$(jq -n --argjson a "$seconds" --argjson b "$(cat "$BENCH/clean/$clip/duration_s")" '$a + $b')
                done
            done
            [ ${#args[@]} -gt 0 ] || continue
            "$MICROCUE" eval score "${args[@]}" --json >"$out/$style-$enc.json"
            jq -r --arg s "$style" --arg e "$enc" --argjson m "$micro" --argjson sec "$seconds" '
              def f1(b): [.per_bucket[] | select(.bucket as $x | b | index($x))] |
                (map(.counts.matched) | add // 0) as $m | (map(.counts.truths) | add // 0) as $t |
                (map(.counts.false_positives) | add // 0) as $fp | if $t == 0 then 0 else 2 * $m / ($t + $m + $fp) end;
              def r(x): x * 1000 | round / 1000;
              "| \($s) | \($e) | \(.overall.truths) | **\(r(.overall.f1))** | \(r(f1(["from100_to200", "from200_to500"]))) | \(r(f1(["from40_to100"]))) | \($m * 600 / $sec | round / 10) |"' "$out/$style-$enc.json"
        done
    done
} >"$out/report.md"
cat "$out/report.md"
