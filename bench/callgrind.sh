#!/usr/bin/env bash
# Counts the instructions user space executes per operation of the
# in-process benchmarks (bench/echo_bench_test.go) with valgrind's
# callgrind, and where they go, package by package. Instruction counts do
# not depend on what else the machine runs, so a change on the hot path
# can be compared exactly where run.sh's figures vary by ±10% (the kernel's
# work, a system call's inside, is not counted). See bench/README.md.
#
#   bash bench/callgrind.sh                                # ours against a 10-line gorilla echo
#   BENCHES="WebSocketEcho" N1=10000 N2=20000 bash bench/callgrind.sh
#   PKG=./bench/bare BENCHES=WebSocketEcho bash bench/callgrind.sh   # the bare server, same client
#
# Settings (environment):
#   BENCHES="WebSocketEcho WebSocketClientOnly"   benchmarks, by name
#   PKG=./bench         the package they are in (./bench/bare: the bare server)
#   N1=20000 N2=40000   iterations of the two runs; per operation is the
#                       difference of the two totals over N2-N1, so that
#                       the setup and the teardown cancel out
#   TOP=25              functions listed per benchmark
#   OUT=<dir>           where the callgrind files go (default: a temp dir)
set -euo pipefail

BENCHES=${BENCHES:-"WebSocketEcho WebSocketClientOnly"}
PKG=${PKG:-./bench}
N1=${N1:-20000}
N2=${N2:-40000}
TOP=${TOP:-25}
OUT=${OUT:-$(mktemp -d /tmp/eio-callgrind.XXXXXX)}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
command -v valgrind >/dev/null || die "valgrind is needed (Debian: apt-get install valgrind)"
((N2 > N1)) || die "N2 must be larger than N1"
mkdir -p "$OUT"

log "building the benchmarks"
go test -c -o "$OUT/bench.test" "$PKG"

# callgrind_annotate's self cost per function, as "count<TAB>function".
self_costs() {
	callgrind_annotate --auto=no --inclusive=no --threshold=100 "$1" |
		awk '/file:function/ { on = 1; next }
			on && /^ *[0-9,]+ \(/ {
				n = $1; gsub(",", "", n)
				f = $0; sub(/^ *[0-9,]+ \( *[0-9.]+%\) +/, "", f); sub(/ \[.*\]$/, "", f)
				sub(/^[^:]*:/, "", f); sub(/'"'"'[0-9]+$/, "", f)
				cost[f] += n
			}
			END { for (f in cost) print cost[f] "\t" f }'
}

# Go under valgrind now and then dies at start-up; a run is tried up to
# three times. The runtime's preemption signals are turned off: callgrind
# asserts on a signal that arrives while it delivers another (Go 1.26).
profile() { # bench iterations file
	local i pattern
	# Each level of a sub-benchmark's name anchored: A/B -> ^BenchmarkA$/^B$
	pattern=$(awk -F/ '{ for (i = 1; i <= NF; i++) printf "%s^%s%s$", (i > 1 ? "/" : ""), (i == 1 ? "Benchmark" : ""), $i }' <<<"$1")
	for i in 1 2 3; do
		if GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$3" "$OUT/bench.test" \
			-test.run - -test.bench "$pattern" -test.benchtime "$2x" -test.cpu 1 \
			>"$3.log" 2>&1 && grep -q "^Benchmark$1" "$3.log"; then
			return 0
		fi
		log "valgrind run $i of $1 failed; trying again"
	done
	tail -20 "$3.log" >&2
	die "$1 did not run under valgrind"
}

for name in $BENCHES; do
	b=${name//\//_} # the files' name
	log "$name: $N1 and $N2 iterations under callgrind"
	profile "$name" "$N1" "$OUT/$b.$N1.cg"
	profile "$name" "$N2" "$OUT/$b.$N2.cg"
	self_costs "$OUT/$b.$N1.cg" >"$OUT/$b.$N1.self"
	self_costs "$OUT/$b.$N2.cg" >"$OUT/$b.$N2.self"
	echo
	echo "## $name: instructions per operation"
	echo
	awk -F'\t' -v n="$((N2 - N1))" '
		FNR == NR { a[$2] = $1; next }
		{ d[$2] = ($1 - a[$2]) / n; delete a[$2] }
		END {
			for (f in a) d[f] = -a[f] / n
			for (f in d) {
				total += d[f]
				p = "other"
				if (f ~ /eioactor\/engineio\/internal\/mailbox/) p = "engineio/internal/mailbox"
				else if (f ~ /eioactor\/engineio\/internal\//) p = "engineio/internal (other)"
				else if (match(f, /eioactor\/engineio\/[a-z]+\./)) p = substr(f, RSTART + 9, RLENGTH - 10)
				else if (f ~ /eioactor\/engineio\./) p = "engineio"
				else if (f ~ /protoactor-go/) p = "protoactor-go"
				else if (f ~ /gorilla\/websocket/) p = "gorilla/websocket"
				else if (f ~ /^runtime\./) p = "runtime"
				else if (match(f, /^[a-z\/]+\./)) p = substr(f, RSTART, RLENGTH - 1)
				pkg[p] += d[f]
				printf "F\t%.0f\t%s\n", d[f], f
			}
			for (p in pkg) printf "P\t%.0f\t%s\n", pkg[p], p
			printf "T\t%.0f\n", total
		}' "$OUT/$b.$N1.self" "$OUT/$b.$N2.self" >"$OUT/$b.per-op"
	echo "total: $(awk -F'\t' '$1 == "T" { print $2 }' "$OUT/$b.per-op")"
	echo
	echo "by package:"
	awk -F'\t' '$1 == "P" && $2 >= 1 { printf "%10d  %s\n", $2, $3 }' "$OUT/$b.per-op" | sort -rn
	echo
	echo "top $TOP functions (self):"
	awk -F'\t' '$1 == "F" { printf "%10d  %s\n", $2, $3 }' "$OUT/$b.per-op" | sort -rn | awk -v top="$TOP" 'NR <= top'
done
log "callgrind files: $OUT"
