#!/usr/bin/env bash
# Trains the learned decision (docs/evaluation.md, "The learned decision") from the committed
# training data, eval/decision/candidates.csv + runs.csv (made by scripts/decision-candidates.sh
# from the tuning side of the split), into crates/microcue_core/src/spotter/decision_weights.rs.
#
# Usage: scripts/train-decision.sh [cv]
#   cv       only print the leave-one-person-out table (L2 x threshold) used to choose L2 and
#            THRESHOLD; nothing is written
# Settings: L2 (default 30) and THRESHOLD (default 0.3), the values chosen on that table;
# MICROCUE=path (default: cargo build -p microcue, then target/debug/microcue).
# Deterministic: the same data and settings give the same weights (a test checks the committed
# ones).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${MICROCUE:-}" ]; then
    (cd "$ROOT" && cargo build -p microcue) || { echo "train-decision.sh: cargo build failed" >&2; exit 1; }
    MICROCUE="$ROOT/target/debug/microcue"
fi
data=(--data "$ROOT/eval/decision/candidates.csv" --runs "$ROOT/eval/decision/runs.csv")
if [ "${1:-}" = cv ]; then
    exec "$MICROCUE" eval train-decision "${data[@]}" --cv "${CV_L2:-0.3,3,30,100,300}"
fi
"$MICROCUE" eval train-decision "${data[@]}" --l2 "${L2:-30}" --threshold "${THRESHOLD:-0.3}" \
    --out "$ROOT/crates/microcue_core/src/spotter/decision_weights.rs"
