#!/bin/sh
# One review of VIDEO in the web app, as a whole process: start `microcue serve` on a free port
# with a temporary journal, open VIDEO on the Review page's route (what the form posts), poll
# the progress once a second until the analysis ends, stop the server. Exit status 0 when the
# analysis finished. The benchmark of docs/benchmarks.md ("Review in the app") times this
# against `microcue analyze VIDEO --consent self --quiet --out /dev/null`, in alternating
# pairs (e.g. with hyperfine, or /usr/bin/time -v in a loop).
#
# Usage: scripts/review-in-app.sh VIDEO
#   MICROCUE=path    binary to use (default target/debug/microcue)
# Needs curl. Prints the final status (JSON) on stdout.
set -eu
VIDEO=$1
MICROCUE=${MICROCUE:-target/debug/microcue}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkfifo "$WORK/out"
"$MICROCUE" serve --port 0 --home "$WORK" > "$WORK/out" 2>/dev/null &
SERVER=$!
read -r LINE < "$WORK/out"
URL=$(echo "$LINE" | grep -o 'http://[^ ]*')
curl -s -o /dev/null -X POST --data-urlencode "path=$VIDEO" --data "consent=self" "${URL}review/open"
while :; do
  STATUS=$(curl -s "${URL}review/status")
  case "$STATUS" in *'"state":"running"'*) sleep 1 ;; *) break ;; esac
done
kill "$SERVER"
wait "$SERVER" 2>/dev/null || true
echo "$STATUS"
case "$STATUS" in *'"state":"done"'*) exit 0 ;; *) exit 1 ;; esac
