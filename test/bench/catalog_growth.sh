#!/bin/sh
# catalog_growth.sh BENCH_MATCHER SIGNATURES_DIR CORPUS_DIR [REV]
# The matcher with today's catalog next to the catalog as it was at REV
# (default 199a1e8, the 180 records before the catalog grew for issue 11),
# measured in one run of bench_matcher on the same lines (ratios, not
# absolute figures: the machine is shared).
set -eu
bench=$1 sigs=$2 corpus=$3 rev=${4:-199a1e8}
top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$top" archive "$rev" signatures | tar -x -C "$tmp"
exec "$bench" --baseline "$tmp/signatures" "$sigs" "$corpus" 1000
