#!/usr/bin/env bash
# Fuzzes one target for a million executions or SECONDS (default 1800), whichever comes first,
# one process on one core, then merges what it found into the minimised corpus fuzz/corpus/TARGET/,
# which is committed: inputs over 8 KiB stay in fuzz/corpus-work/ (read by the next run, not
# committed), which keeps the corpora small and their replay quick. A crash, a hang (> 20 s) or a memory blow-up (an allocation over
# 1 GiB, or 2 GiB resident) stops it and saves the input in fuzz/artifacts/TARGET/.
#
# usage: fuzz/run.sh TARGET [SECONDS [MORE LIBFUZZER FLAGS...]]
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`); fuzz/seed.sh first.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/run.sh TARGET [SECONDS [FLAGS...]]}
seconds=${2:-1800}
shift $(( $# < 2 ? $# : 2 ))
cargo +nightly fuzz build --debug-assertions "$target"
binary=target/x86_64-unknown-linux-gnu/release/$target
mkdir -p "corpus-work/$target" "corpus/$target" "seeds/$target" "artifacts/$target" logs
# The image and journal targets write a file per input: keep it in memory.
export TMPDIR=${TMPDIR:-/dev/shm}
status=0
"$binary" -runs=1000000 -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="artifacts/$target/" "$@" \
    "corpus-work/$target" "seeds/$target" "corpus/$target" 2>&1 | tee "logs/$target.log" ||
    status=$?
# Minimise: keep the inputs that add coverage, from the seeds, the old corpus and the new finds.
rm -rf "corpus-merged/$target"
mkdir -p "corpus-merged/$target"
"$binary" -merge=1 -timeout=20 -rss_limit_mb=2048 "corpus-merged/$target" "seeds/$target" \
    "corpus/$target" "corpus-work/$target" 2>"logs/$target.merge.log"
rm -rf "corpus/$target"
find "corpus-merged/$target" -type f -size +8k -exec mv -t "corpus-work/$target" {} +
mv "corpus-merged/$target" "corpus/$target"
echo "corpus/$target: $(find "corpus/$target" -type f | wc -l) inputs, $(du -sh "corpus/$target" | cut -f1)"
exit "$status"
