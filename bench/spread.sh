#!/usr/bin/env bash
# Holds SESSIONS idle WebSocket sessions on this machine at once, with PROCS
# processes of each server side by side, each on a port of its own with an
# eioload of its own, and reports them summed: RSS, the time to connect
# them all, the heartbeats answered. See bench/README.md.
#
# One process opens at most `ulimit -Hn` files, a socket each, and raising
# that hard limit needs CAP_SYS_RESOURCE. Where it is lower than SESSIONS,
# run.sh's idle-scale cannot hold them in one process; this holds them in
# several, as a deployment behind a load balancer would on one machine.
# Memory per session is comparable with idle-scale's at SESSIONS/PROCS
# sessions, not at SESSIONS: each process has its own heap and runtime.
#
#   bash bench/spread.sh                                  # 100,000 sessions, every server
#   SESSIONS=100000 SERVERS=ours ROUNDS=1 bash bench/spread.sh
#
# Settings (environment):
#   SESSIONS=100000      sessions in all
#   PROCS=               server processes (and load generators); default: as
#                        few as fit under the file limit with 10% to spare
#   SERVERS="ours reference bare"   ROUNDS=1   HOLD=30s
#   PING_INTERVAL=25000 PING_TIMEOUT=20000    (ms, given to every server)
#   PORT=28500           the first server's port; the others follow it
#   SERVER_CPU=0 LOAD_CPU=1   CPUs for taskset (every server on one, every
#                             load generator on the other)
#   OUT=<dir>            where results.jsonl, table.md and the logs go
#
# Exit status: 0 if every run held every session without errors, 1 otherwise.
set -euo pipefail

SESSIONS=${SESSIONS:-100000}
PROCS=${PROCS:-}
SERVERS=${SERVERS:-"ours reference bare"}
ROUNDS=${ROUNDS:-1}
HOLD=${HOLD:-30s}
PING_INTERVAL=${PING_INTERVAL:-25000}
PING_TIMEOUT=${PING_TIMEOUT:-20000}
PORT=${PORT:-28500}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

[[ $SESSIONS =~ ^[1-9][0-9]*$ ]] || die "SESSIONS must be a positive integer, got '$SESSIONS'"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
for s in $SERVERS; do
	case $s in ours | reference | bare) ;; *) die "unknown server '$s'" ;; esac
done
command -v taskset >/dev/null || die "taskset (util-linux) is needed"
command -v go >/dev/null || die "go is needed"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
[[ $FD_LIMIT == unlimited ]] && FD_LIMIT=1048576
FIT=$((FD_LIMIT * 9 / 10))
if [[ -z $PROCS ]]; then
	PROCS=$(((SESSIONS + FIT - 1) / FIT))
fi
[[ $PROCS =~ ^[1-9][0-9]*$ ]] || die "PROCS must be a positive integer, got '$PROCS'"
PER=$(((SESSIONS + PROCS - 1) / PROCS))
((PER <= FIT)) || die "$PER sessions per process do not fit under the file limit $FD_LIMIT; raise PROCS"
# One loopback source address per 5000 connections of a load generator
# (run.sh's local_ips), and addresses of their own for each.
IPS=$(((PER + 4999) / 5000))
((1 + PROCS * IPS <= 254)) || die "$PROCS load generators of $IPS source addresses each do not fit in 127.0.0.2-254"

bench_work eio-spread

[[ -n $OUT ]] || OUT=$(mktemp -d /tmp/eio-spread-results.XXXXXX)
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"

log "building eioload and spreadsum"
go build -o "$WORK/eioload" ./bench/cmd/eioload
go build -o "$WORK/spreadsum" ./bench/cmd/spreadsum
[[ " $SERVERS " == *" ours "* ]] && go build -o "$WORK/echo" ./examples/echo
[[ " $SERVERS " == *" bare "* ]] && go build -o "$WORK/bare" ./bench/bare
if [[ " $SERVERS " == *" reference "* ]]; then
	command -v node >/dev/null || die "node is needed for the reference server"
	npm ci --prefix bench/reference --no-audit --no-fund --loglevel=error >&2
fi


server_cmd() { # name port
	case $1 in
	ours) echo "$WORK/echo -addr 127.0.0.1:$2 -ping-interval $PING_INTERVAL -ping-timeout $PING_TIMEOUT" ;;
	bare) echo "$WORK/bare -addr 127.0.0.1:$2 -ping-interval $PING_INTERVAL -ping-timeout $PING_TIMEOUT" ;;
	reference) echo "node bench/reference/echo.js -host 127.0.0.1 -port $2 -ping-interval $PING_INTERVAL -ping-timeout $PING_TIMEOUT" ;;
	esac
}

FAILED=0
run_one() { # server round
	local server=$1 round=$2 k port
	local servers=() loads=()
	log "$server / round $round: $PROCS processes of $PER sessions"
	for ((k = 0; k < PROCS; k++)); do
		port=$((PORT + k))
		port_open "$port" && die "something already listens on 127.0.0.1:$port; set PORT"
		# shellcheck disable=SC2046
		taskset -c "$SERVER_CPU" $(server_cmd "$server" "$port") >"$OUT/$server.$round.$k.server.log" 2>&1 &
		servers+=($!)
		PIDS+=($!)
	done
	for ((k = 0; k < PROCS; k++)); do
		port=$((PORT + k))
		for _ in $(seq 300); do port_open "$port" && break; sleep 0.1; done
		port_open "$port" || die "$server on port $port did not listen within 30 s"
	done
	local start
	start=$(date +%s.%N)
	for ((k = 0; k < PROCS; k++)); do
		port=$((PORT + k))
		taskset -c "$LOAD_CPU" "$WORK/eioload" -json -pid "${servers[k]}" \
			-url "http://127.0.0.1:$port/engine.io/" -transport websocket -idle \
			-clients "$PER" -duration "$HOLD" -local-ips "$IPS" -local-ip-first $((2 + k * IPS)) \
			>"$OUT/$server.$round.$k.json" 2>"$OUT/$server.$round.$k.txt" &
		loads+=($!)
		PIDS+=($!)
	done
	local rc=0 pid
	for pid in "${loads[@]}"; do wait "$pid" || rc=1; done
	local wall
	wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
	for ((k = 0; k < PROCS; k++)); do
		kill -0 "${servers[k]}" 2>/dev/null || { log "$server process $k died"; rc=1; }
	done
	for pid in "${servers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
	PIDS=()
	((rc == 0)) || FAILED=1
	cat "$OUT/$server.$round".*.json | "$WORK/spreadsum" -server "$server" -round "$round" \
		-sessions "$SESSIONS" -hold "$HOLD" -ping-interval "$PING_INTERVAL" -wall "$wall" >>"$RESULTS" || FAILED=1
	sleep 2
}

{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -sr), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?'), working tree: $(git status --porcelain 2>/dev/null | wc -l) files changed or new ($(git status --porcelain -- . ':!bench' 2>/dev/null | wc -l) outside bench/)"
	echo "settings: SESSIONS=$SESSIONS PROCS=$PROCS ($PER sessions each) SERVERS=\"$SERVERS\" ROUNDS=$ROUNDS HOLD=$HOLD PING_INTERVAL=$PING_INTERVAL PING_TIMEOUT=$PING_TIMEOUT; open files limit $FD_LIMIT"
} >"$OUT/header.txt"
cat "$OUT/header.txt" >&2

for round in $(seq "$ROUNDS"); do
	for server in $SERVERS; do run_one "$server" "$round"; done
done

{
	cat "$OUT/header.txt"
	echo
	"$WORK/spreadsum" -table <"$RESULTS"
} >"$OUT/table.md"
echo
cat "$OUT/table.md"
log "results: $OUT"
exit "$FAILED"
