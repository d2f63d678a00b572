#!/usr/bin/env bash
# Benchmarks our Engine.IO echo server (examples/echo) against the JavaScript
# reference server (bench/reference, engine.io 6.6.x) with bench/cmd/eioload,
# and prints a Markdown table of medians. See bench/README.md.
#
#   bash bench/run.sh                               # 3 rounds, 10 s windows
#   ROUNDS=1 DURATION=5s bash bench/run.sh          # quick
#   bash bench/run.sh --quick                       # the same
#   SCENARIOS="ws-text idle" bash bench/run.sh      # a subset
#
# Settings (environment, or the flags in brackets):
#   ROUNDS=3          [--rounds N]       ours, reference, ours, reference ... N times per scenario
#   DURATION=10s      [--duration D]     measured window (echo), holding time (idle)
#   WARMUP=2s         [--warmup D]       unmeasured load before each window
#   SCENARIOS="ws-text ws-binary polling connect idle"  [--scenarios "..."]
#   SERVERS="ours reference"             [--servers "..."]
#   WS_CLIENTS=200 POLL_CLIENTS=50 CONNECTIONS=2000 CONNECT_CONCURRENCY=50 IDLE_SESSIONS=1000
#   PING_INTERVAL=25000 PING_TIMEOUT=20000   (ms, given to both servers)
#   PORT=38471        port the servers listen on (127.0.0.1)
#   SERVER_CPU=0 LOAD_CPU=1   CPUs for taskset
#   OUT=<dir>         where results.jsonl, table.md and the server logs go (default: a new temp dir)
#
# Exit status: 0 if every run finished without errors, 1 otherwise (the table
# is printed either way).
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
SCENARIOS=${SCENARIOS:-"ws-text ws-binary polling connect idle"}
SERVERS=${SERVERS:-"ours reference"}
WS_CLIENTS=${WS_CLIENTS:-200}
POLL_CLIENTS=${POLL_CLIENTS:-50}
CONNECTIONS=${CONNECTIONS:-2000}
CONNECT_CONCURRENCY=${CONNECT_CONCURRENCY:-50}
IDLE_SESSIONS=${IDLE_SESSIONS:-1000}
PING_INTERVAL=${PING_INTERVAL:-25000}
PING_TIMEOUT=${PING_TIMEOUT:-20000}
PORT=${PORT:-38471}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-}

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--warmup) WARMUP=$2; shift 2 ;;
	--scenarios) SCENARIOS=$2; shift 2 ;;
	--servers) SERVERS=$2; shift 2 ;;
	--quick) ROUNDS=1; DURATION=5s; WARMUP=1s; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
done

log() { printf '[run.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
for s in $SCENARIOS; do
	case $s in ws-text | ws-binary | polling | connect | idle) ;; *) die "unknown scenario '$s'" ;; esac
done
for s in $SERVERS; do
	case $s in ours | reference) ;; *) die "unknown server '$s'" ;; esac
done
command -v taskset >/dev/null || die "taskset (util-linux) is needed to pin the server and the load generator"
command -v node >/dev/null || die "node is needed for the reference server"
command -v go >/dev/null || die "go is needed"

# Every process this script starts is recorded here and ended on exit, by pid.
PIDS=()
WORK=$(mktemp -d /tmp/eio-bench.XXXXXX)
cleanup() {
	local rc=$? pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

forget_pid() {
	local keep=() p
	for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

if [[ -z $OUT ]]; then
	OUT=$(mktemp -d /tmp/eio-bench-results.XXXXXX)
fi
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"

# A thousand idle WebSockets on each side need file descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

log "building eioload and benchreport"
go build -o "$WORK/eioload" ./bench/cmd/eioload
go build -o "$WORK/benchreport" ./bench/cmd/benchreport
if [[ " $SERVERS " == *" ours "* ]]; then
	[[ -f examples/echo/main.go ]] || die "examples/echo does not exist yet; run with SERVERS=reference to measure only the reference"
	log "building examples/echo"
	go build -o "$WORK/echo" ./examples/echo
fi
if [[ " $SERVERS " == *" reference "* ]]; then
	log "installing the reference server (npm ci)"
	npm ci --prefix bench/reference --no-audit --no-fund --loglevel=error >&2
fi

port_open() { (: >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Seconds in a Go duration such as 10s, 1500ms, 2m; 0 if it cannot tell.
seconds_of() {
	local d=$1
	case $d in
	*ms) echo $(((${d%ms} + 999) / 1000)) ;;
	*s) [[ ${d%s} =~ ^[0-9]+$ ]] && echo "${d%s}" || echo 0 ;;
	*m) [[ ${d%m} =~ ^[0-9]+$ ]] && echo $((${d%m} * 60)) || echo 0 ;;
	*) echo 0 ;;
	esac
}

SERVER_PID=
start_server() { # name logfile
	local name=$1 logfile=$2
	if port_open "$PORT"; then
		die "something already listens on 127.0.0.1:$PORT; set PORT"
	fi
	case $name in
	ours)
		taskset -c "$SERVER_CPU" "$WORK/echo" -addr "127.0.0.1:$PORT" \
			-ping-interval "$PING_INTERVAL" -ping-timeout "$PING_TIMEOUT" >"$logfile" 2>&1 &
		;;
	reference)
		taskset -c "$SERVER_CPU" node bench/reference/echo.js -host 127.0.0.1 -port "$PORT" \
			-ping-interval "$PING_INTERVAL" -ping-timeout "$PING_TIMEOUT" >"$logfile" 2>&1 &
		;;
	esac
	# taskset execs the server, so $! is the server's own pid.
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	for _ in $(seq 300); do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			log "$name exited before listening:"; tail -20 "$logfile" >&2
			return 1
		fi
		port_open "$PORT" && return 0
		sleep 0.1
	done
	log "$name did not listen on port $PORT within 30 s"
	return 1
}

stop_server() {
	local pid=$SERVER_PID
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		log "server $pid ignored SIGTERM for 10 s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	forget_pid "$pid"
	SERVER_PID=
	# Let the port and the sockets of the last run settle.
	for _ in $(seq 50); do port_open "$PORT" || break; sleep 0.1; done
	sleep 1
}

scenario_args() {
	case $1 in
	ws-text) echo "-transport websocket -clients $WS_CLIENTS -size 64 -duration $DURATION -warmup $WARMUP" ;;
	ws-binary) echo "-transport websocket -clients $WS_CLIENTS -size 1024 -binary -duration $DURATION -warmup $WARMUP" ;;
	polling) echo "-transport polling -clients $POLL_CLIENTS -size 64 -duration $DURATION -warmup $WARMUP" ;;
	connect) echo "-transport websocket -connect-only -clients $CONNECTIONS -concurrency $CONNECT_CONCURRENCY -warmup $WARMUP" ;;
	idle) echo "-transport websocket -idle -clients $IDLE_SESSIONS -duration $DURATION" ;;
	esac
}

FAILED=0
run_one() { # scenario server round
	local scenario=$1 server=$2 round=$3
	local tag="$scenario.$server.$round"
	local limit=$(($(seconds_of "$DURATION") + $(seconds_of "$WARMUP") + 180))
	log "$scenario / $server / round $round"
	if ! start_server "$server" "$OUT/$tag.server.log"; then
		printf '{"server":"%s","scenario":"%s","round":%d,"exit":-1,"server_alive":false,"result":null}\n' \
			"$server" "$scenario" "$round" >>"$RESULTS"
		FAILED=1
		stop_server
		return
	fi
	local rc=0
	# shellcheck disable=SC2046
	taskset -c "$LOAD_CPU" timeout -k 5 "$limit" "$WORK/eioload" -json -pid "$SERVER_PID" \
		-url "http://127.0.0.1:$PORT/engine.io/" $(scenario_args "$scenario") \
		>"$OUT/$tag.json" 2>"$OUT/$tag.txt" &
	local load=$!
	PIDS+=("$load")
	wait "$load" || rc=$?
	forget_pid "$load"
	sed 's/^/    /' "$OUT/$tag.txt" >&2
	local alive=true
	kill -0 "$SERVER_PID" 2>/dev/null || alive=false
	if [[ $alive == false ]]; then
		log "the $server server died during the run; its log:"
		tail -20 "$OUT/$tag.server.log" >&2
	fi
	if [[ $rc -ne 0 || $alive == false ]]; then
		FAILED=1
		[[ $rc -eq 124 ]] && log "eioload did not finish within ${limit}s"
	fi
	local result
	result=$(head -1 "$OUT/$tag.json")
	[[ -n $result ]] || result=null
	printf '{"server":"%s","scenario":"%s","round":%d,"exit":%d,"server_alive":%s,"result":%s}\n' \
		"$server" "$scenario" "$round" "$rc" "$alive" "$result" >>"$RESULTS"
	stop_server
}

{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -sr)"
	echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "go: $(go version | cut -d' ' -f3-)  node: $(node --version)  engine.io: $(node -p "require('./bench/reference/node_modules/engine.io/package.json').version" 2>/dev/null || echo '?')"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo "settings: ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP SCENARIOS=\"$SCENARIOS\" WS_CLIENTS=$WS_CLIENTS POLL_CLIENTS=$POLL_CLIENTS CONNECTIONS=$CONNECTIONS CONNECT_CONCURRENCY=$CONNECT_CONCURRENCY IDLE_SESSIONS=$IDLE_SESSIONS PING_INTERVAL=$PING_INTERVAL PING_TIMEOUT=$PING_TIMEOUT"
	echo "pinning: server on CPU $SERVER_CPU, eioload on CPU $LOAD_CPU (taskset)"
} >"$OUT/header.txt"
cat "$OUT/header.txt" >&2

for scenario in $SCENARIOS; do
	for round in $(seq "$ROUNDS"); do
		for server in $SERVERS; do
			run_one "$scenario" "$server" "$round"
		done
	done
done

{
	cat "$OUT/header.txt"
	echo
	"$WORK/benchreport" <"$RESULTS"
} >"$OUT/table.md"
echo
cat "$OUT/table.md"
log "results: $OUT (results.jsonl, table.md, per-run logs)"
exit "$FAILED"
