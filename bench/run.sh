#!/usr/bin/env bash
# Benchmarks our Engine.IO echo server (examples/echo) against the JavaScript
# reference server (bench/reference, engine.io 6.6.x) and the bare limit
# (bench/bare) with bench/cmd/eioload, and prints Markdown tables of medians.
# See bench/README.md.
#
#   bash bench/run.sh                               # default scenarios, 3 rounds, 10 s windows
#   ROUNDS=1 DURATION=5s bash bench/run.sh          # quick
#   bash bench/run.sh --quick                       # the same
#   SCENARIOS="ws-text idle" bash bench/run.sh      # a subset
#   SCENARIOS="sizes idle-scale idle-polling rate" bash bench/run.sh   # the long ones
#   SCENARIOS=idle-scale IDLE_MAX=100000 bash bench/run.sh             # adds 100k sessions
#
# Settings (environment, or the flags in brackets):
#   ROUNDS=3          [--rounds N]       ours, reference, bare, ours, ... N times per scenario
#   DURATION=10s      [--duration D]     measured window (echo), holding time (idle)
#   WARMUP=2s         [--warmup D]       unmeasured load before each window
#   SCENARIOS="ws-text ws-binary polling connect idle upgrade"  [--scenarios "..."]
#             also: rate sizes idle-scale idle-polling wss-idle
#             https-idle-polling (long, off by default), ws-fixed (ws-text at
#             a fixed offered load), polling-fixed (polling at one)
#   SERVERS="ours reference bare"        [--servers "..."]
#             also: base, our server built from git revision BASE, to
#             compare a change with it: SERVERS="ours base" BASE=HEAD
#             (the table then compares ours with base instead of reference)
#   BASE=HEAD         the revision of base
#   POLL_HTTP=lean    polling's HTTP client in eioload: lean (its own, two
#             connections per session) or nethttp (net/http's, which used
#             more CPU per message than the fastest servers: runs before
#             finding 40 used it)
#   WS_CLIENT=lean    the WebSocket echo's client in eioload (ws-text,
#             ws-binary, ws-fixed, rate, sizes): lean (its own frames; each
#             echo waits for its answer without first reading the socket
#             empty, so that every server is busy) or gorilla
#             (gorilla/websocket's, as every run before finding 51)
#   WS_CLIENTS=200 POLL_CLIENTS=50 CONNECTIONS=20000 CONNECT_CONCURRENCY=50 IDLE_SESSIONS=1000
#   WS_CLOSE=wait     how connect's sessions end: wait (for the server's close
#             frame, as engine.io-client and browsers do) or drop (close the
#             connection right after the client's close frame, as every run
#             before finding 46 did)
#   UPGRADES=500 UPGRADE_CONCURRENCY=10          upgrade
#   RATE_CLIENTS=2000 RATE=1 RATE_DURATION=60s   rate (msgs/s per client)
#   FIXED_RATE=75                                ws-fixed (msgs/s per client, WS_CLIENTS clients)
#   FIXED_POLL_RATE=200                          polling-fixed (msgs/s per client, POLL_CLIENTS clients)
#   SIZES="64 1024 16384 65536" SIZES_BINARY=1   sizes (WebSocket echo, WS_CLIENTS clients)
#   IDLE_SCALE="1000 10000" IDLE_MAX= IDLE_HOLD=30s   idle-scale (IDLE_MAX adds one more count)
#   IDLE_POLL_SESSIONS=9000   idle-polling and https-idle-polling (held for
#             IDLE_HOLD); a client with a GET pending sends its pong beside
#             its next GET, as engine.io-client does, and may keep two
#             connections: 9,000 fit in 20,000 file descriptors
#   TLS_SESSIONS=10000   wss-idle: idle WebSocket sessions over TLS, held for
#             IDLE_HOLD; the TLS scenarios use a self-signed certificate made
#             with openssl; base must be b8fcc18 or later, which serves TLS
#   PING_INTERVAL=25000 PING_TIMEOUT=20000   (ms, given to every server)
#   PORT=28471        port the servers listen on (127.0.0.1); the scripts' ports are below
#                     Linux's ephemeral range (32768-60999), where a client connection
#                     left in TIME_WAIT on the same port would make the bind fail
#   SERVER_CPU=0 LOAD_CPU=1   CPUs for taskset
#   GO_SERVER_ENV=    environment of the Go servers (ours, base, bare) only,
#             e.g. "GOGC=50" to price a smaller collector goal; not the load
#             generator's
#   QUIET=0.5 QUIET_WAIT=20   before each run, wait up to QUIET_WAIT s for other
#                             processes to use less than QUIET cores (0: do not wait)
#   OUT=<dir>         where results.jsonl, table.md and the server logs go (default: a new temp dir)
#
# Exit status: 0 if every run finished without errors, 1 otherwise (the table
# is printed either way).
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
SCENARIOS=${SCENARIOS:-"ws-text ws-binary polling connect idle upgrade"}
SERVERS=${SERVERS:-"ours reference bare"}
BASE=${BASE:-HEAD}
WS_CLIENTS=${WS_CLIENTS:-200}
POLL_CLIENTS=${POLL_CLIENTS:-50}
POLL_HTTP=${POLL_HTTP:-lean}
WS_CLIENT=${WS_CLIENT:-lean}
WS_CLOSE=${WS_CLOSE:-wait}
CONNECTIONS=${CONNECTIONS:-20000}
CONNECT_CONCURRENCY=${CONNECT_CONCURRENCY:-50}
IDLE_SESSIONS=${IDLE_SESSIONS:-1000}
TLS_SESSIONS=${TLS_SESSIONS:-10000}
UPGRADES=${UPGRADES:-500}
UPGRADE_CONCURRENCY=${UPGRADE_CONCURRENCY:-10}
RATE_CLIENTS=${RATE_CLIENTS:-2000}
RATE=${RATE:-1}
RATE_DURATION=${RATE_DURATION:-60s}
FIXED_RATE=${FIXED_RATE:-75}
FIXED_POLL_RATE=${FIXED_POLL_RATE:-200}
SIZES=${SIZES:-"64 1024 16384 65536"}
SIZES_BINARY=${SIZES_BINARY:-1}
IDLE_SCALE=${IDLE_SCALE:-"1000 10000"}
IDLE_MAX=${IDLE_MAX:-}
IDLE_HOLD=${IDLE_HOLD:-30s}
IDLE_POLL_SESSIONS=${IDLE_POLL_SESSIONS:-9000}
QUIET=${QUIET:-0.5}
QUIET_WAIT=${QUIET_WAIT:-20}
PING_INTERVAL=${PING_INTERVAL:-25000}
PING_TIMEOUT=${PING_TIMEOUT:-20000}
PORT=${PORT:-28471}
SERVER_CPU=${SERVER_CPU:-0}
GO_SERVER_ENV=${GO_SERVER_ENV:-}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-}

usage() { sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; }

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

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
for s in $SCENARIOS; do
	case $s in ws-text | ws-binary | ws-fixed | polling | polling-fixed | connect | idle | upgrade | rate | sizes | idle-scale | idle-polling | wss-idle | https-idle-polling) ;;
	*) die "unknown scenario '$s'" ;;
	esac
done
[[ $WS_CLOSE == wait || $WS_CLOSE == drop ]] || die "WS_CLOSE must be wait or drop, got '$WS_CLOSE'"
for s in $SERVERS; do
	case $s in ours | reference | bare | base) ;; *) die "unknown server '$s'" ;; esac
done
for n in $SIZES $IDLE_SCALE $IDLE_MAX $IDLE_POLL_SESSIONS $TLS_SESSIONS $UPGRADES $RATE_CLIENTS; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "sizes and session counts must be positive integers, got '$n'"
done
command -v taskset >/dev/null || die "taskset (util-linux) is needed to pin the server and the load generator"
if [[ " $SERVERS " == *" reference "* ]]; then
	command -v node >/dev/null || die "node is needed for the reference server"
fi
command -v go >/dev/null || die "go is needed"

# The concrete runs of a scenario: sizes, idle-scale and idle-polling stand
# for several.
expand() {
	case $1 in
	sizes) for n in $SIZES; do echo "size-$n"; done ;;
	idle-scale)
		for n in $IDLE_SCALE; do echo "idle-$n"; done
		if [[ -n $IDLE_MAX && " $IDLE_SCALE " != *" $IDLE_MAX "* ]]; then echo "idle-$IDLE_MAX"; fi
		;;
	idle-polling) echo idle-polling; echo idle-polling-state ;;
	*) echo "$1" ;;
	esac
}
RUNS=()
for s in $SCENARIOS; do
	while read -r r; do RUNS+=("$r"); done < <(expand "$s")
done

# Every process this script starts is recorded in PIDS and ended on exit, by
# pid (bench/lib.sh).
bench_work eio-bench

if [[ -z $OUT ]]; then
	OUT=$(mktemp -d /tmp/eio-bench-results.XXXXXX)
fi
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"

# Sessions a run keeps open at once.
scenario_sessions() {
	case $1 in
	idle) echo "$IDLE_SESSIONS" ;;
	idle-polling* | https-idle-polling) echo "$IDLE_POLL_SESSIONS" ;;
	idle-[0-9]*) echo "${1#idle-}" ;;
	wss-idle) echo "$TLS_SESSIONS" ;;
	rate) echo "$RATE_CLIENTS" ;;
	*) echo 0 ;;
	esac
}

# Connections a run keeps open at once (for the file descriptor check): a
# polling client with a GET pending may keep a second one for its POSTs.
scenario_connections() {
	local n
	n=$(scenario_sessions "$1")
	case $1 in
	idle-polling | https-idle-polling) echo $((2 * n)) ;;
	*) echo "$n" ;;
	esac
}

# Idle sessions need a file descriptor per connection, on both sides (each
# process has its own limit). Raise the soft limit as far as needed, or to
# the hard limit; raising the hard limit needs CAP_SYS_RESOURCE.
MOST=$IDLE_SESSIONS
for r in "${RUNS[@]}"; do
	n=$(scenario_connections "$r")
	((n > MOST)) && MOST=$n
done
WANT_FDS=$((MOST + 1024 > 65536 ? MOST + 1024 : 65536))
ulimit -n "$WANT_FDS" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
[[ $FD_LIMIT == unlimited ]] && FD_LIMIT=$WANT_FDS
NOTES=()

log "building eioload and benchreport"
go build -o "$WORK/eioload" ./bench/cmd/eioload
go build -o "$WORK/benchreport" ./bench/cmd/benchreport
if [[ " $SERVERS " == *" bare "* ]]; then
	log "building bench/bare"
	go build -o "$WORK/bare" ./bench/bare
fi
if [[ " $SERVERS " == *" ours "* ]]; then
	[[ -f examples/echo/main.go ]] || die "examples/echo does not exist yet; run with SERVERS=reference to measure only the reference"
	log "building examples/echo"
	go build -o "$WORK/echo" ./examples/echo
fi
if [[ " $SERVERS " == *" base "* ]]; then
	log "building examples/echo at $BASE"
	git worktree add --detach "$WORK/base-src" "$BASE" >&2
	(cd "$WORK/base-src" && go build -o "$WORK/base" ./examples/echo)
	git worktree remove --force "$WORK/base-src"
fi
if [[ " ${RUNS[*]} " == *" wss-idle "* || " ${RUNS[*]} " == *" https-idle-polling "* ]]; then
	command -v openssl >/dev/null || die "openssl is needed for the TLS scenarios' certificate (Debian: apt-get install openssl)"
	log "making a self-signed certificate for the TLS scenarios"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
fi
if [[ " $SERVERS " == *" reference "* ]]; then
	log "installing the reference server (npm ci)"
	npm ci --prefix bench/reference --no-audit --no-fund --loglevel=error >&2
fi

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
start_server() { # name logfile [flags for the server: -cert F -key F]
	local name=$1 logfile=$2
	shift 2
	if port_open "$PORT"; then
		die "something already listens on 127.0.0.1:$PORT; set PORT"
	fi
	case $name in
	ours)
		# shellcheck disable=SC2086 # VAR=value words
		env $GO_SERVER_ENV taskset -c "$SERVER_CPU" "$WORK/echo" -addr "127.0.0.1:$PORT" \
			-ping-interval "$PING_INTERVAL" -ping-timeout "$PING_TIMEOUT" "$@" >"$logfile" 2>&1 &
		;;
	reference)
		taskset -c "$SERVER_CPU" node bench/reference/echo.js -host 127.0.0.1 -port "$PORT" \
			-ping-interval "$PING_INTERVAL" -ping-timeout "$PING_TIMEOUT" "$@" >"$logfile" 2>&1 &
		;;
	base)
		# shellcheck disable=SC2086 # VAR=value words
		env $GO_SERVER_ENV taskset -c "$SERVER_CPU" "$WORK/base" -addr "127.0.0.1:$PORT" \
			-ping-interval "$PING_INTERVAL" -ping-timeout "$PING_TIMEOUT" "$@" >"$logfile" 2>&1 &
		;;
	bare)
		# shellcheck disable=SC2086 # VAR=value words
		env $GO_SERVER_ENV taskset -c "$SERVER_CPU" "$WORK/bare" -addr "127.0.0.1:$PORT" \
			-ping-interval "$PING_INTERVAL" -ping-timeout "$PING_TIMEOUT" "$@" >"$logfile" 2>&1 &
		;;
	esac
	# env and taskset exec the server, so $! is the server's own pid.
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

# -local-ips for n connections: one loopback source address per 5000
# connections when there are more than 5000. One address has ~28k ephemeral
# ports (ip_local_port_range), and connect() slows down long before they
# run out: 19000 sessions took 12-16 s from one address, 3 s from four.
local_ips() {
	if (($1 > 5000)); then echo "-local-ips $((($1 + 4999) / 5000))"; fi
}

BINFLAG=
[[ $SIZES_BINARY == 1 ]] && BINFLAG=-binary

scenario_args() {
	case $1 in
	ws-text) echo "-transport websocket -ws $WS_CLIENT -clients $WS_CLIENTS -size 64 -duration $DURATION -warmup $WARMUP" ;;
	ws-binary) echo "-transport websocket -ws $WS_CLIENT -clients $WS_CLIENTS -size 1024 -binary -duration $DURATION -warmup $WARMUP" ;;
	ws-fixed) echo "-transport websocket -ws $WS_CLIENT -clients $WS_CLIENTS -rate $FIXED_RATE -size 64 -duration $DURATION -warmup $WARMUP" ;;
	polling-fixed) echo "-transport polling -http $POLL_HTTP -clients $POLL_CLIENTS -rate $FIXED_POLL_RATE -size 64 -duration $DURATION -warmup $WARMUP" ;;
	polling) echo "-transport polling -http $POLL_HTTP -clients $POLL_CLIENTS -size 64 -duration $DURATION -warmup $WARMUP" ;;
	connect) echo "-transport websocket -connect-only -close $WS_CLOSE -clients $CONNECTIONS -concurrency $CONNECT_CONCURRENCY -warmup $WARMUP $(local_ips "$CONNECTIONS")" ;;
	idle) echo "-transport websocket -idle -clients $IDLE_SESSIONS -duration $DURATION" ;;
	upgrade) echo "-upgrade -clients $UPGRADES -concurrency $UPGRADE_CONCURRENCY -size 64 -warmup $WARMUP" ;;
	rate) echo "-transport websocket -ws $WS_CLIENT -clients $RATE_CLIENTS -rate $RATE -size 64 -duration $RATE_DURATION -warmup $WARMUP $(local_ips "$RATE_CLIENTS")" ;;
	size-*) echo "-transport websocket -ws $WS_CLIENT -clients $WS_CLIENTS -size ${1#size-} $BINFLAG -duration $DURATION -warmup $WARMUP" ;;
	idle-polling) echo "-transport polling -idle -clients $IDLE_POLL_SESSIONS -duration $IDLE_HOLD $(local_ips "$IDLE_POLL_SESSIONS")" ;;
	idle-polling-state) echo "-transport polling -idle -idle-get=false -clients $IDLE_POLL_SESSIONS -duration $IDLE_HOLD $(local_ips "$IDLE_POLL_SESSIONS")" ;;
	idle-[0-9]*) echo "-transport websocket -idle -clients ${1#idle-} -duration $IDLE_HOLD $(local_ips "${1#idle-}")" ;;
	wss-idle) echo "-transport websocket -idle -insecure -clients $TLS_SESSIONS -duration $IDLE_HOLD $(local_ips "$TLS_SESSIONS")" ;;
	https-idle-polling) echo "-transport polling -idle -insecure -clients $IDLE_POLL_SESSIONS -duration $IDLE_HOLD $(local_ips "$IDLE_POLL_SESSIONS")" ;;
	esac
}

# The scheme of a scenario's URL, and the flags that make a server serve it.
scenario_scheme() {
	case $1 in
	wss-idle | https-idle-polling) echo https ;;
	*) echo http ;;
	esac
}
server_tls_flags() {
	case $1 in
	wss-idle | https-idle-polling) echo "-cert $WORK/cert.pem -key $WORK/key.pem" ;;
	esac
}

# An upper bound of the seconds a run takes, for eioload's timeout.
scenario_limit() {
	local n secs
	n=$(scenario_sessions "$1")
	case $1 in
	rate) secs=$(seconds_of "$RATE_DURATION") ;;
	idle-* | wss-idle | https-idle-polling) secs=$(seconds_of "$IDLE_HOLD") ;;
	*) secs=$(seconds_of "$DURATION") ;;
	esac
	# Connecting 100k sessions at a few hundred per second takes minutes.
	echo $((secs + $(seconds_of "$WARMUP") + 180 + n / 100))
}

# Waits (up to QUIET_WAIT s) until the machine's busy CPU, measured over
# one second while none of our processes runs, is below QUIET cores.
wait_quiet() {
	[[ $QUIET == 0 ]] && return 0
	local waited=0 a b busy
	while :; do
		a=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat)
		sleep 1
		b=$(awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat)
		busy=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", (b-a)/100}')
		if awk -v x="$busy" -v q="$QUIET" 'BEGIN{exit !(x < q)}'; then
			return 0
		fi
		waited=$((waited + 1))
		if ((waited >= QUIET_WAIT)); then
			log "other processes still use $busy cores after ${QUIET_WAIT}s; running anyway"
			return 0
		fi
	done
}

FAILED=0
run_one() { # scenario server round
	local scenario=$1 server=$2 round=$3
	local tag="$scenario.$server.$round"
	local limit
	limit=$(scenario_limit "$scenario")
	local need=$(($(scenario_connections "$scenario") + 256))
	if ((need > FD_LIMIT)); then
		local note="$scenario / $server / round $round not run: it needs about $need file descriptors per process, the limit is $FD_LIMIT (ulimit -Hn; raising it needs CAP_SYS_RESOURCE); bench/spread.sh holds as many in several processes"
		log "$note"
		NOTES+=("$note")
		return
	fi
	wait_quiet
	log "$scenario / $server / round $round"
	# shellcheck disable=SC2046
	if ! start_server "$server" "$OUT/$tag.server.log" $(server_tls_flags "$scenario"); then
		printf '{"server":"%s","scenario":"%s","round":%d,"exit":-1,"server_alive":false,"result":null}\n' \
			"$server" "$scenario" "$round" >>"$RESULTS"
		FAILED=1
		stop_server
		return
	fi
	local rc=0
	# shellcheck disable=SC2046
	taskset -c "$LOAD_CPU" timeout -k 5 "$limit" "$WORK/eioload" -json -pid "$SERVER_PID" \
		-url "$(scenario_scheme "$scenario")://127.0.0.1:$PORT/engine.io/" $(scenario_args "$scenario") \
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
	# The model name can be as vague as "AMD EPYC": family, model and the
	# widest vector extension tell two machines apart.
	echo "cpu: family $(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), model $(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), $(grep -m1 '^flags' /proc/cpuinfo | grep -qw avx512f && echo avx512f || echo 'no avx512f')"
	echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "go: $(go version | cut -d' ' -f3-)  node: $(node --version)  engine.io: $(node -p "require('./bench/reference/node_modules/engine.io/package.json').version" 2>/dev/null || echo '?')"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?'), working tree: $(git status --porcelain 2>/dev/null | wc -l) files changed or new ($(git status --porcelain -- . ':!bench' 2>/dev/null | wc -l) outside bench/)"
	echo "settings: ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP SCENARIOS=\"$SCENARIOS\" SERVERS=\"$SERVERS\" WS_CLIENTS=$WS_CLIENTS POLL_CLIENTS=$POLL_CLIENTS CONNECTIONS=$CONNECTIONS CONNECT_CONCURRENCY=$CONNECT_CONCURRENCY IDLE_SESSIONS=$IDLE_SESSIONS PING_INTERVAL=$PING_INTERVAL PING_TIMEOUT=$PING_TIMEOUT"
	echo "settings (long scenarios): UPGRADES=$UPGRADES UPGRADE_CONCURRENCY=$UPGRADE_CONCURRENCY RATE_CLIENTS=$RATE_CLIENTS RATE=$RATE RATE_DURATION=$RATE_DURATION FIXED_RATE=$FIXED_RATE FIXED_POLL_RATE=$FIXED_POLL_RATE POLL_HTTP=$POLL_HTTP WS_CLIENT=$WS_CLIENT WS_CLOSE=$WS_CLOSE SIZES=\"$SIZES\" SIZES_BINARY=$SIZES_BINARY IDLE_SCALE=\"$IDLE_SCALE\" IDLE_MAX=$IDLE_MAX IDLE_HOLD=$IDLE_HOLD IDLE_POLL_SESSIONS=$IDLE_POLL_SESSIONS TLS_SESSIONS=$TLS_SESSIONS QUIET=$QUIET QUIET_WAIT=$QUIET_WAIT"
	echo "pinning: server on CPU $SERVER_CPU, eioload on CPU $LOAD_CPU (taskset); open files limit $FD_LIMIT"
	[[ -z $GO_SERVER_ENV ]] || echo "environment of the Go servers: $GO_SERVER_ENV"
} >"$OUT/header.txt"
cat "$OUT/header.txt" >&2

for scenario in "${RUNS[@]}"; do
	for round in $(seq "$ROUNDS"); do
		for server in $SERVERS; do
			run_one "$scenario" "$server" "$round"
		done
	done
done

{
	cat "$OUT/header.txt"
	echo
	if [[ " $SERVERS " == *" base "* ]]; then
		"$WORK/benchreport" -b base <"$RESULTS"
	else
		"$WORK/benchreport" <"$RESULTS"
	fi
	if ((${#NOTES[@]} > 0)); then
		echo
		echo "Not run:"
		echo
		for n in "${NOTES[@]}"; do echo "- $n"; done
	fi
} >"$OUT/table.md"
echo
cat "$OUT/table.md"
log "results: $OUT (results.jsonl, table.md, per-run logs)"
exit "$FAILED"
