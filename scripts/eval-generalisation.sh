#!/usr/bin/env bash
# The generalisation benchmark of docs/evaluation.md: every row of the fixed split
# (eval/split.csv) planted with its style and seed into its clip (eval/footage), the injected
# and the clean video analysed as uncompressed Y4M and as H.264 at webcam and at phone
# quality, each run scored (MEGC, clean-run exclusion), then pooled reports per side of the
# split, style, encoding and clip, the tuning-vs-held-out gap, and the natural (clean-run)
# events per minute on every clip and encoding.
#
# Usage: scripts/eval-generalisation.sh [OUT_DIR]
#   OUT_DIR defaults to bench-out/generalisation (gitignored). Resumable: finished runs (a
#   report.json per encoding) are skipped, so an interrupted run continues where it stopped.
#   Reports: OUT_DIR/report.md (tables) and OUT_DIR/pooled/*.json (full `eval score` reports).
# Settings (environment):
#   MICROCUE=path    binary to use (default: cargo build --release, then target/release)
#   FOOTAGE=dir      clips (default eval/footage); SPLIT=file (default eval/split.csv)
#   ENCODINGS="y4m webcam phone"   which encodings to run (default all three)
#   ONLY=regex       only split rows whose clip name matches (e.g. ONLY=grid_)
#   KEEP_VIDEO=1     keep the videos (large) instead of deleting them after each run
# Offline re-scoring of a spotter change, in seconds, from the saved per-frame signals:
#   RESCORE=1 [SPOTTER_CONFIG=settings.json] [RESCORE_NAME=name] scripts/eval-generalisation.sh
#   re-runs only the spotter (`analyze --signals`) on every saved run of OUT_DIR and writes
#   the same reports under OUT_DIR/rescore-NAME (NAME defaults to the settings file's name, or
#   "default"). Nothing is planted or decoded again. SENSITIVITY=0..1 passes `--sensitivity`.
# The operating curve (docs/evaluation.md, "Sensitivity"), from the saved signals:
#   RESCORE=1 SWEEP="0.3 0.4 0.5 0.6 0.7" [SPOTTER_CONFIG=...] scripts/eval-generalisation.sh
#   re-scores once per sensitivity into OUT_DIR/sweep-NAME/s<value> and writes
#   OUT_DIR/sweep-NAME/curve.md: held-out F1 per style and encoding against natural micro
#   events per minute of the clean runs, per sensitivity.
# Encodings (libx264 through ffmpeg; the clean video of a clip goes through the same command):
#   y4m     the injector's uncompressed output, as the older benchmark used
#   webcam  -preset veryfast -tune zerolatency -crf 28: a real-time encoder at video-call
#           quality (no B-frames, visible blocking in motion)
#   phone   -preset medium -crf 20 -g 30 -bf 2: a camera recording (high quality, 1 s GOP,
#           B-frames)
# Needs ffmpeg (apt-get install ffmpeg) and about 2 GB of free disk while a run's videos exist.
set -euo pipefail

die() {
    echo "eval-generalisation.sh: error: $*" >&2
    exit 1
}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/bench-out/generalisation}"
FOOTAGE="${FOOTAGE:-$ROOT/eval/footage}"
SPLIT="${SPLIT:-$ROOT/eval/split.csv}"
ENCODINGS="${ENCODINGS:-y4m webcam phone}"
[ -f "$SPLIT" ] || die "$SPLIT: no such file (set SPLIT=the split CSV)"
[ -d "$FOOTAGE" ] || die "$FOOTAGE: no such folder (set FOOTAGE=folder with the clips of eval/footage)"
command -v jq >/dev/null || die "jq is missing: install it (apt-get install jq)"
if [ -z "${MICROCUE:-}" ]; then
    (cd "$ROOT" && cargo build --release -p microcue) || die "cargo build --release -p microcue failed"
    MICROCUE="$ROOT/target/release/microcue"
fi
for enc in $ENCODINGS; do
    case "$enc" in
        y4m) ;;
        webcam | phone) command -v ffmpeg >/dev/null || die "ffmpeg is missing: install it (apt-get install ffmpeg) or set ENCODINGS=y4m" ;;
        *) die "ENCODINGS: unknown encoding \`$enc\` (use y4m, webcam, phone)" ;;
    esac
done
mkdir -p "$OUT"

# encode ENC IN.y4m -> path of the video to analyse (IN.y4m itself for y4m)
encode() {
    local enc="$1" in="$2" out="${2%.y4m}.$1.mp4"
    case "$enc" in
        y4m) echo "$in"; return ;;
        webcam) ffmpeg -nostdin -v error -y -i "$in" -c:v libx264 -preset veryfast -tune zerolatency \
            -crf 28 -pix_fmt yuv420p -threads 1 "$out" ;;
        phone) ffmpeg -nostdin -v error -y -i "$in" -c:v libx264 -preset medium -crf 20 -g 30 -bf 2 \
            -pix_fmt yuv420p -threads 1 "$out" ;;
    esac || die "ffmpeg could not encode $in ($enc)"
    echo "$out"
}

# analyze VIDEO EVENTS SIGNALS
analyze() {
    "$MICROCUE" analyze "$1" --out "$2.tmp" --signals-out "$3.tmp" --consent given --no-ffmpeg --quiet \
        2>>"$OUT/analyze.log" || die "microcue analyze $1 failed (see $OUT/analyze.log)"
    mv "$2.tmp" "$2"
    mv "$3.tmp" "$3"
}

# The split's rows: side clip person kind style seed count (comments and header skipped).
rows() {
    grep -v '^#' "$SPLIT" | tail -n +2 | while IFS=, read -r side clip person kind style seed count; do
        [ -n "$clip" ] || continue
        if [ -n "${ONLY:-}" ] && ! [[ "$clip" =~ $ONLY ]]; then continue; fi
        echo "$side|$clip|$person|$kind|$style|$seed|$count"
    done
}

run_all() {
    local started=$SECONDS
    while IFS='|' read -r side clip person kind style seed count; do
        local name="${clip%.*}" run="$OUT/runs/${clip%.*}/$style-$seed" clean="$OUT/clean/${clip%.*}"
        local need=()
        for enc in $ENCODINGS; do
            [ -f "$run/$enc/report.json" ] || need+=("$enc")
        done
        [ ${#need[@]} -gt 0 ] || continue
        [ -f "$FOOTAGE/$clip" ] || die "$FOOTAGE/$clip: no such clip (listed in $SPLIT)"
        echo "== $side $name: style $style, seed $seed, $count events (${need[*]})"
        mkdir -p "$run/work"
        "$MICROCUE" eval inject "$FOOTAGE/$clip" "$run/work" --style "$style" --seed "$seed" \
            --count "$count" --consent given --quiet 2>>"$OUT/inject.log" \
            || die "microcue eval inject $clip failed (see $OUT/inject.log)"
        echo "$side,$clip,$person,$kind,$style,$seed" >"$run/row.csv"
        for enc in "${need[@]}"; do
            mkdir -p "$clean/$enc" "$run/$enc"
            if [ ! -f "$clean/$enc/clean.jsonl" ]; then
                local video
                video=$(encode "$enc" "$run/work/clean.y4m")
                analyze "$video" "$clean/$enc/clean.jsonl" "$clean/$enc/clean.signals.jsonl"
                [ "$enc" = y4m ] || rm -f "$video"
                ffprobe -v error -show_entries format=duration -of csv=p=0 "$run/work/clean.y4m" \
                    >"$clean/duration_s" 2>/dev/null || true
            fi
            local video
            video=$(encode "$enc" "$run/work/injected.y4m")
            analyze "$video" "$run/$enc/injected.jsonl" "$run/$enc/injected.signals.jsonl"
            [ "$enc" = y4m ] || [ -n "${KEEP_VIDEO:-}" ] || rm -f "$video"
            cp "$run/work/truth.csv" "$run/$enc/truth.csv"
            cp "$clean/$enc/clean.jsonl" "$run/$enc/clean.jsonl"
            "$MICROCUE" eval score "$run/$enc/truth.csv" "$run/$enc/injected.jsonl" "$run/$enc/clean.jsonl" \
                --json >"$run/$enc/report.json.tmp"
            mv "$run/$enc/report.json.tmp" "$run/$enc/report.json"
        done
        [ -n "${KEEP_VIDEO:-}" ] || rm -f "$run/work/"*.y4m "$run/work/"*.mp4
    done < <(rows)
    echo "runs took $((SECONDS - started)) s"
}

# rescore TREE: re-run the spotter on every saved signals file of OUT into TREE.
rescore() {
    local tree="$1" config_args=()
    [ -n "${SPOTTER_CONFIG:-}" ] && config_args=(--spotter-config "$SPOTTER_CONFIG")
    [ -n "${SENSITIVITY:-}" ] && config_args+=(--sensitivity "$SENSITIVITY")
    local started=$SECONDS
    for signals in "$OUT"/clean/*/*/clean.signals.jsonl; do
        [ -f "$signals" ] || die "no saved runs in $OUT: run the benchmark first"
        local rel="${signals#"$OUT"/}" dest
        dest="$tree/$(dirname "$rel")"
        mkdir -p "$dest"
        cp -f "$OUT/clean/$(basename "$(dirname "$(dirname "$rel")")")/duration_s" "$(dirname "$dest")/" 2>/dev/null || true
        "$MICROCUE" analyze --signals "$signals" "${config_args[@]}" --out "$dest/clean.jsonl" --quiet 2>/dev/null \
            || die "re-scoring $signals failed"
    done
    for signals in "$OUT"/runs/*/*/*/injected.signals.jsonl; do
        local dir rel dest clip_dir enc
        dir="$(dirname "$signals")"
        rel="${dir#"$OUT"/}"
        dest="$tree/$rel"
        enc="$(basename "$dir")"
        clip_dir="$(basename "$(dirname "$(dirname "$dir")")")"
        mkdir -p "$dest"
        cp -f "$(dirname "$dir")/row.csv" "$(dirname "$dest")/row.csv"
        cp -f "$dir/truth.csv" "$dest/truth.csv"
        cp -f "$tree/clean/$clip_dir/$enc/clean.jsonl" "$dest/clean.jsonl"
        "$MICROCUE" analyze --signals "$signals" "${config_args[@]}" --out "$dest/injected.jsonl" --quiet 2>/dev/null \
            || die "re-scoring $signals failed"
        "$MICROCUE" eval score "$dest/truth.csv" "$dest/injected.jsonl" "$dest/clean.jsonl" --json >"$dest/report.json"
    done
    echo "re-scoring took $((SECONDS - started)) s"
}

# One table row from a pooled `eval score --json` report: events, F1, recall, precision,
# 100-500 ms F1, 40-100 ms F1, labels, side.
METRICS='
  def f1(m; t; fp): if (m + fp) == 0 or t == 0 then 0 else (2 * m / (t + m + fp)) end;
  def bucket(names): [.per_bucket[] | select(.bucket as $b | names | index($b))] |
    { t: (map(.counts.truths) | add // 0), m: (map(.counts.matched) | add // 0),
      fp: (map(.counts.false_positives) | add // 0) };
  (bucket(["from100_to200", "from200_to500"])) as $mid | (bucket(["from40_to100"])) as $short |
  "\(.overall.truths) | **\(.overall.f1 * 1000 | round / 1000)** | \(.overall.recall * 100 | round / 100) | \(.overall.precision * 100 | round / 100) | \(f1($mid.m; $mid.t; $mid.fp) * 1000 | round / 1000) | \(f1($short.m; $short.t; $short.fp) * 1000 | round / 1000) | \(.labels_correct)/\(.overall.matched) | \(.sides_correct)/\(.sides_checked) |"'

# pooled NAME DIR... -> table row (and TREE/pooled/NAME.json)
pooled() {
    local tree="$1" name="$2"
    shift 2
    local args=()
    for dir in "$@"; do args+=(--run "$dir"); done
    mkdir -p "$tree/pooled"
    "$MICROCUE" eval score "${args[@]}" --json >"$tree/pooled/$name.json"
    jq -r "$METRICS" "$tree/pooled/$name.json"
}

# dirs TREE SIDE STYLE ENC [CLIP] -> run folders of that group
dirs() {
    local tree="$1" side="$2" style="$3" enc="$4" clip="${5:-*}"
    for row in "$tree"/runs/$clip/"$style"-*/row.csv; do
        [ -f "$row" ] || continue
        IFS=, read -r row_side _ <"$row"
        [ "$row_side" = "$side" ] || continue
        local dir
        dir="$(dirname "$row")/$enc"
        [ -f "$dir/report.json" ] && echo "$dir"
    done
}

report() {
    local tree="$1" md="$1/report.md"
    local header="| events | F1 | recall | precision | F1 100-500 ms | F1 40-100 ms | labels | side |"
    {
        echo "# Generalisation benchmark"
        echo
        echo "Split: \`${SPLIT#"$ROOT"/}\`; spotter settings: ${SPOTTER_CONFIG:-defaults}."
        echo
        echo "## Pooled by side of the split, style and encoding"
        echo
        echo "| side | style | encoding $header"
        echo "|---|---|---|---|---|---|---|---|---|---|---|"
        for side in tuning heldout; do
            for style in warp au; do
                for enc in $ENCODINGS; do
                    mapfile -t group < <(dirs "$tree" "$side" "$style" "$enc")
                    [ ${#group[@]} -gt 0 ] || continue
                    echo "| $side | $style | $enc | $(pooled "$tree" "$side-$style-$enc" "${group[@]}")"
                done
            done
        done
        echo
        echo "## Gap (tuning minus held-out)"
        echo
        echo "| style | encoding | F1 tuning | F1 held-out | gap | F1 100-500 tuning | held-out | gap |"
        echo "|---|---|---|---|---|---|---|---|"
        for style in warp au; do
            for enc in $ENCODINGS; do
                local t="$tree/pooled/tuning-$style-$enc.json" h="$tree/pooled/heldout-$style-$enc.json"
                [ -f "$t" ] && [ -f "$h" ] || continue
                jq -rn --slurpfile t "$t" --slurpfile h "$h" --arg s "$style" --arg e "$enc" '
                  def mid(r): [r.per_bucket[] | select(.bucket == "from100_to200" or .bucket == "from200_to500")] |
                    (map(.counts.matched) | add // 0) as $m | (map(.counts.truths) | add // 0) as $n |
                    (map(.counts.false_positives) | add // 0) as $fp | if $n == 0 then 0 else 2 * $m / ($n + $m + $fp) end;
                  def r(x): x * 1000 | round / 1000;
                  "| \($s) | \($e) | \(r($t[0].overall.f1)) | \(r($h[0].overall.f1)) | **\(r($t[0].overall.f1 - $h[0].overall.f1))** | \(r(mid($t[0]))) | \(r(mid($h[0]))) | **\(r(mid($t[0]) - mid($h[0])))** |"'
            done
        done
        echo
        echo "## Per clip (seeds pooled)"
        echo
        echo "| side | clip | style | encoding $header"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
        for side in tuning heldout; do
            for clip_dir in "$tree"/runs/*/; do
                local clip
                clip="$(basename "$clip_dir")"
                for style in warp au; do
                    for enc in $ENCODINGS; do
                        mapfile -t group < <(dirs "$tree" "$side" "$style" "$enc" "$clip")
                        [ ${#group[@]} -gt 0 ] || continue
                        echo "| $side | $clip | $style | $enc | $(pooled "$tree" "clip-$clip-$style-$enc" "${group[@]}")"
                    done
                done
            done
        done
        echo
        echo "## Natural events (clean runs)"
        echo
        echo "Events the spotter reports on the clip without anything planted; per minute of video."
        echo
        echo "| side | clip | seconds | encoding | events | micro | macro | micro per min | all per min |"
        echo "|---|---|---|---|---|---|---|---|---|"
        for clean_dir in "$tree"/clean/*/; do
            local clip side seconds
            clip="$(basename "$clean_dir")"
            side=$(grep -v '^#' "$SPLIT" | awk -F, -v c="$clip" '{ n = $2; sub(/\.[^.]*$/, "", n) } n == c { print $1; exit }')
            seconds=$(cat "$clean_dir/duration_s" 2>/dev/null || echo 0)
            for enc in $ENCODINGS; do
                local events="$clean_dir/$enc/clean.jsonl"
                [ -f "$events" ] || continue
                jq -rs --arg side "$side" --arg clip "$clip" --arg enc "$enc" --argjson s "${seconds:-0}" '
                  map(select((.kind // "event") == "event")) |
                  (map(select(.scale == "micro")) | length) as $micro | length as $all |
                  def pm(x): if $s > 0 then (x * 60 / $s * 10 | round / 10) else "-" end;
                  "| \($side) | \($clip) | \($s * 10 | round / 10) | \($enc) | \($all) | \($micro) | \($all - $micro) | \(pm($micro)) | \(pm($all)) |"' "$events"
            done
        done
    } >"$md"
    echo "report: $md"
}

# natural TREE SIDE ENC -> micro events per minute over that side's clean runs
natural() {
    local tree="$1" side="$2" enc="$3" micro=0 seconds=0
    for clean_dir in "$tree"/clean/*/; do
        local clip
        clip="$(basename "$clean_dir")"
        [ -f "$clean_dir/$enc/clean.jsonl" ] || continue
        grep -v '^#' "$SPLIT" | awk -F, -v c="$clip" -v s="$side" '{ n = $2; sub(/\.[^.]*$/, "", n) } n == c && $1 == s { found = 1 } END { exit !found }' || continue
        micro=$((micro + $(jq -s 'map(select((.kind // "event") == "event" and .scale == "micro")) | length' "$clean_dir/$enc/clean.jsonl")))
        seconds=$(jq -n --argjson a "$seconds" --argjson b "$(cat "$clean_dir/duration_s" 2>/dev/null || echo 0)" '$a + $b')
    done
    jq -n --argjson m "$micro" --argjson s "$seconds" 'if $s > 0 then ($m * 60 / $s * 10 | round / 10) else "-" end'
}

# sweep TREE VALUES...: one re-score per sensitivity, then the operating curve
sweep() {
    local tree="$1"
    shift
    local md="$tree/curve.md" rows=()
    for value in "$@"; do
        SENSITIVITY="$value" rescore "$tree/s$value"
        local row="| $value |"
        for style in warp au; do
            for enc in $ENCODINGS; do
                mapfile -t group < <(dirs "$tree/s$value" heldout "$style" "$enc")
                if [ ${#group[@]} -gt 0 ]; then
                    pooled "$tree/s$value" "heldout-$style-$enc" "${group[@]}" >/dev/null
                    row+=" $(jq -r '.overall.f1 * 1000 | round / 1000' "$tree/s$value/pooled/heldout-$style-$enc.json") |"
                else
                    row+=" - |"
                fi
            done
        done
        for enc in $ENCODINGS; do
            row+=" $(natural "$tree/s$value" heldout "$enc") |"
        done
        for enc in $ENCODINGS; do
            row+=" $(natural "$tree/s$value" tuning "$enc") |"
        done
        rows+=("$row")
    done
    {
        echo "# Operating curve"
        echo
        echo "Held-out F1 (pooled over clips and seeds) per style and encoding, and natural micro"
        echo "events per minute of the clean runs, per sensitivity. Spotter settings: ${SPOTTER_CONFIG:-defaults}."
        echo
        local header="| sensitivity |" rule="|---|"
        for style in warp au; do
            for enc in $ENCODINGS; do
                header+=" F1 $style $enc |"
                rule+="---|"
            done
        done
        for side in held-out tuning; do
            for enc in $ENCODINGS; do
                header+=" natural micro/min $side $enc |"
                rule+="---|"
            done
        done
        echo "$header"
        echo "$rule"
        printf '%s\n' "${rows[@]}"
    } >"$md"
    echo "operating curve: $md"
}

if [ -n "${RESCORE:-}" ]; then
    name="${RESCORE_NAME:-}"
    if [ -z "$name" ]; then
        name="default"
        [ -n "${SPOTTER_CONFIG:-}" ] && name="$(basename "${SPOTTER_CONFIG%.json}")"
    fi
    if [ -n "${SWEEP:-}" ]; then
        read -r -a values <<<"$SWEEP"
        sweep "$OUT/sweep-$name" "${values[@]}"
        exit 0
    fi
    rescore "$OUT/rescore-$name"
    report "$OUT/rescore-$name"
else
    run_all
    report "$OUT"
fi
