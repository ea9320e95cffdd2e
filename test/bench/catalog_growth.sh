#!/bin/sh
# catalog_growth.sh [--callgrind] BENCH_MATCHER SIGNATURES_DIR CORPUS_DIR [REV]
# The matcher with today's catalog next to the catalog as it was at REV
# (default 199a1e8, the 180 records before the catalog grew for issue 11),
# measured in one run of bench_matcher on the same lines (ratios, not
# absolute figures: the machine is shared).  The lines are split into those
# neither catalog recognises (pure waste), those both recognise, and those
# only today's does.
# --callgrind: one pass per measurement under valgrind's callgrind, and the
# instructions per line instead of lines/s (repeatable on a busy machine).
set -eu
cg=
if [ "${1:-}" = --callgrind ]; then
	cg=1
	shift
fi
bench=$1 sigs=$2 corpus=$3 rev=${4:-199a1e8}
top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$top" archive "$rev" signatures | tar -x -C "$tmp"
if [ -z "$cg" ]; then
	exec "$bench" --baseline "$tmp/signatures" "$sigs" "$corpus" 1000
fi
valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
	"$bench" --baseline "$tmp/signatures" --callgrind "$sigs" "$corpus" 1000 2>"$tmp/vg.err" ||
	{ cat "$tmp/vg.err" >&2; exit 1; }
# Each dump: "desc: Trigger: Client Request: mtbench part=P mode=M catalog=C lines=N"
# then "summary: IR" (or "totals:").
echo
echo "instructions per line (callgrind Ir, one pass):"
cat "$tmp"/cg.out* | awk '
	/^desc: Trigger: Client Request: mtbench / {
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "part") p = kv[2]
			if (kv[1] == "mode") m = kv[2]
			if (kv[1] == "catalog") c = kv[2]
			if (kv[1] == "lines") n = kv[2]
		}
		want = 1
		next
	}
	want && /^(summary|totals):/ {
		ir[p "," m "," c] = $2 / n
		lines[p] = n
		want = 0
	}
	END {
		printf "%-12s %6s  %-9s %14s %14s %15s\n", "lines", "count", "figure", "baseline Ir", "today Ir", "today/baseline"
		np = split("all neither both today-only", order, " ")
		for (k = 1; k <= np; k++) {
			p = order[k]
			if (!(p in lines)) continue
			split("matcher pipeline", ms, " ")
			for (j = 1; j <= 2; j++) {
				b = ir[p "," ms[j] ",baseline"]; t = ir[p "," ms[j] ",today"]
				r = b > 0 ? t / b : 0
				printf("%-12s %6s  %-9s %14.0f %14.0f %14.2fx\n", (j == 1 ? p : ""), (j == 1 ? lines[p] : ""), ms[j], b, t, r)
			}
		}
	}'
