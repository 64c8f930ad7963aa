#!/usr/bin/env bash
# Whisper storage benchmarks: statbox's Go benchmarks and whisper.py on the
# same operations and file layouts, in one run. Results go to stdout; copy the
# figures to bench/RESULTS.md with the date.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-5}
echo "== statbox (go test -bench, -count=$count; take the median)"
go test -run='^$' -bench='^Benchmark(Update|UpdateMany100|FetchDay|Create)$' -benchmem -count="$count" ./storage/whisper/
echo
echo "== whisper.py $(/usr/bin/python3 -c 'import importlib.metadata as m; print(m.version("whisper"))' 2>/dev/null || echo '?') (best of 3 rounds)"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 bench/whisper_py.py "$dir"
