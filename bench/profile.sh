#!/usr/bin/env bash
# Profiles our echo server (bench/cmd/eioprof: examples/echo plus pprof) under
# the load of bench/run.sh's scenarios, pinned the same way (server CPU 0,
# eioload CPU 1). Per scenario, two fresh servers:
#   1. a CPU profile over the measured window (default MemProfileRate);
#   2. allocation profiles at the start and the end of the window, with
#      MemProfileRate=MEMRATE, and the server's count of echoed messages at
#      both, so that allocations can be given per message.
# Writes into OUT: <scenario>.cpu.pb.gz, <scenario>.allocs.{0,1}.pb.gz, the
# eioload summaries, and <scenario>.txt with the top functions; prints them.
# The scenario idle-N instead holds N idle WebSocket sessions for IDLE_HOLD
# (idlepoll-N: N polling sessions with no request pending; idleget-N: N
# polling sessions each with a GET pending, as a browser keeps one)
# and takes a heap profile (in use) and the runtime's memory figures at the
# end of the hold, before and after the sessions, to show where the memory
# per session goes.
#
#   bash bench/profile.sh                             # ws-text and polling
#   PROFILE_SCENARIOS=ws-binary DURATION=20s bash bench/profile.sh
#   PROFILE_SCENARIOS=connect DURATION=8s bash bench/profile.sh   # handshakes (60,000 sessions)
#   PROFILE_SCENARIOS=idle-10000 bash bench/profile.sh
#
# Settings: PROFILE_SCENARIOS="ws-text polling" DURATION=10s WARMUP=2s
#   MEMRATE=4096 NODES=35 PORT=28481 PPROF_PORT=28482 SERVER_CPU=0 LOAD_CPU=1
#   SERVER_FLAGS=""   more eioprof flags, e.g. "-dispatcher sync"
#   IDLE_HOLD=30s     holding time of idle-N
#   IDLE_MEMRATE=524288  MemProfileRate of idle-N (smaller: a finer heap profile)
#   IDLE_HEARTBEAT=0  1: also what the first heartbeat of idle-N allocates, from
#             heap profiles after forced collections at 18 s and 3 s before
#             the end of the hold (the default ping interval is 25 s); the
#             collections move the RSS read at the end, so take RSS figures
#             from runs without it
#   WS_CLIENT=lean    eioload's WebSocket echo client (-ws; see run.sh)
#   OUT=<dir> (default: a new temp dir)
set -euo pipefail

PROFILE_SCENARIOS=${PROFILE_SCENARIOS:-"ws-text polling"}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
MEMRATE=${MEMRATE:-4096}
NODES=${NODES:-35}
PORT=${PORT:-28481}
PPROF_PORT=${PPROF_PORT:-28482}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
SERVER_FLAGS=${SERVER_FLAGS:-}
IDLE_HOLD=${IDLE_HOLD:-30s}
IDLE_MEMRATE=${IDLE_MEMRATE:-524288}
IDLE_HEARTBEAT=${IDLE_HEARTBEAT:-0}
WS_CLIENT=${WS_CLIENT:-lean}
OUT=${OUT:-}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# args runs in command substitutions, where die would end only the
# subshell: every scenario is checked here first.
for sc in $PROFILE_SCENARIOS; do
	case $sc in
	ws-text | ws-binary | polling | connect) ;;
	size-* | idle-* | idlepoll-* | idleget-*) [[ ${sc#*-} =~ ^[1-9][0-9]*$ ]] || die "scenario '$sc' needs a positive count" ;;
	*) die "unknown scenario '$sc'" ;;
	esac
done
command -v taskset >/dev/null || die "taskset (util-linux) is needed"
command -v curl >/dev/null || die "curl is needed"
secs() { # a Go duration in whole seconds: 10s, 2m, 1500ms
	case $1 in
	*ms) echo $(((${1%ms} + 999) / 1000)) ;;
	*s) echo "${1%s}" ;;
	*m) echo $((${1%m} * 60)) ;;
	*) die "cannot read duration $1" ;;
	esac
}
D=$(secs "$DURATION")
W=$(secs "$WARMUP")

bench_work eio-prof

[[ -n $OUT ]] || OUT=$(mktemp -d /tmp/eio-prof-results.XXXXXX)
mkdir -p "$OUT"
log "building eioprof and eioload"
go build -o "$WORK/eioprof" ./bench/cmd/eioprof
go build -o "$WORK/eioload" ./bench/cmd/eioload

SERVER_PID=
# shellcheck disable=SC2086 # SERVER_FLAGS is a list of flags
start() { # memprofilerate logfile
	port_open "$PORT" && die "something listens on 127.0.0.1:$PORT already"
	taskset -c "$SERVER_CPU" "$WORK/eioprof" -addr "127.0.0.1:$PORT" -pprof "127.0.0.1:$PPROF_PORT" \
		-memprofilerate "$1" $SERVER_FLAGS >"$2" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	for _ in $(seq 100); do
		port_open "$PORT" && port_open "$PPROF_PORT" && return 0
		sleep 0.1
	done
	die "eioprof did not start; see $2"
}
stop() {
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	forget_pid "$SERVER_PID"
	for _ in $(seq 50); do port_open "$PORT" || break; sleep 0.1; done
	sleep 1
}
args() {
	case $1 in
	ws-text) echo "-transport websocket -ws $WS_CLIENT -clients 200 -size 64" ;;
	ws-binary) echo "-transport websocket -ws $WS_CLIENT -clients 200 -size 1024 -binary" ;;
	polling) echo "-transport polling -clients 50 -size 64" ;;
	size-*) echo "-transport websocket -ws $WS_CLIENT -clients 200 -binary -size ${1#size-}" ;;
	# Enough handshakes to outlast the window at ~5,000/s, from four source
	# addresses so that the client's ports do not run out.
	connect) echo "-transport websocket -connect-only -clients 60000 -concurrency 50 -local-ips 4" ;;
	idle-*)
		local n=${1#idle-}
		echo "-transport websocket -idle -clients $n"
		if ((n > 5000)); then echo "-local-ips $(((n + 4999) / 5000))"; fi
		;;
	idlepoll-*) echo "-transport polling -idle -idle-get=false -clients ${1#idlepoll-}" ;;
	idleget-*)
		local n=${1#idleget-}
		echo "-transport polling -idle -clients $n"
		if ((n > 5000)); then echo "-local-ips $(((n + 4999) / 5000))"; fi
		;;
	*) die "unknown scenario $1" ;;
	esac
}
load() { # scenario tag
	# shellcheck disable=SC2046
	taskset -c "$LOAD_CPU" "$WORK/eioload" -json -pid "$SERVER_PID" -url "http://127.0.0.1:$PORT/engine.io/" \
		$(args "$1") -warmup "$WARMUP" -duration "$DURATION" >"$OUT/$2.json" 2>"$OUT/$2.eioload.txt" &
	LOAD_PID=$!
	PIDS+=("$LOAD_PID")
}
finish_load() {
	wait "$LOAD_PID" || log "eioload exited with status $?"
	forget_pid "$LOAD_PID"
}
pp() { curl -fsS "http://127.0.0.1:$PPROF_PORT$1"; }
# allocated prints the objects and bytes allocated between two profiles
# (base, then the later one), leaving out pprof's own allocations (its
# profile builder and the gzip writer under it).
allocated() {
	# Sample lines of -raw: alloc_objects alloc_space inuse_objects inuse_space: locations
	go tool pprof -raw -ignore='runtime/pprof|compress/' -base "$1" "$2" 2>/dev/null |
		awk '/^Samples:/{s=1;next} /^Locations/{s=0} s&&/^ *-?[0-9]+ +-?[0-9]+ +-?[0-9]+ +-?[0-9]+:/{o+=$1; b+=$2}
			END{ print o+0, b+0 }'
}

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# idle-N: where the memory of N idle WebSocket sessions is.
profile_idle() { # scenario
	local sc=$1 n=${1##*-} h
	h=$(secs "$IDLE_HOLD")
	log "$sc: heap of $n idle sessions after ${h}s"
	start "$IDLE_MEMRATE" "$OUT/$sc.server.log"
	sleep 1
	pp /memstats >"$OUT/$sc.memstats.0.txt"
	pp /debug/pprof/heap >"$OUT/$sc.heap.0.pb.gz"
	local rss0
	rss0=$(awk '/^VmRSS/{print $2}' "/proc/$SERVER_PID/status")
	# shellcheck disable=SC2046
	taskset -c "$LOAD_CPU" "$WORK/eioload" -json -pid "$SERVER_PID" -url "http://127.0.0.1:$PORT/engine.io/" \
		$(args "$sc") -duration "$IDLE_HOLD" >"$OUT/$sc.json" 2>"$OUT/$sc.eioload.txt" &
	LOAD_PID=$!
	PIDS+=("$LOAD_PID")
	# The sessions are up within a few seconds; sample near the end of the hold.
	if [[ $IDLE_HEARTBEAT == 1 ]]; then
		((h >= 28)) || die "IDLE_HEARTBEAT=1 needs an IDLE_HOLD of at least 28s"
		# An allocation profile shows what was allocated up to the last
		# collection but one: two forced ones make it whole.
		sleep 18
		pp "/debug/pprof/heap?gc=1" >/dev/null
		pp "/debug/pprof/heap?gc=1" >"$OUT/$sc.heartbeat.0.pb.gz"
		sleep $((h - 3 - 18))
		pp "/debug/pprof/heap?gc=1" >/dev/null
		pp "/debug/pprof/heap?gc=1" >"$OUT/$sc.heartbeat.1.pb.gz"
	else
		sleep $((h - 3))
	fi
	local rss1
	rss1=$(awk '/^VmRSS/{print $2}' "/proc/$SERVER_PID/status")
	pp /memstats >"$OUT/$sc.memstats.1.txt"
	pp /debug/pprof/heap >"$OUT/$sc.heap.1.pb.gz"
	finish_load
	stop
	{
		echo "## $sc"
		echo
		grep -E '^  (connect|server|  *RSS)' "$OUT/$sc.eioload.txt" | sed 's/^ *//'
		echo
		echo "VmRSS before $rss0 kB, near the end of the hold $rss1 kB: $(((rss1 - rss0) / n)) KB per session (read before the forced GC of the runtime figures below)"
		echo
		echo "| runtime figure (after a GC) | before | with the sessions | per session |"
		echo "|---|---:|---:|---:|"
		paste "$OUT/$sc.memstats.0.txt" "$OUT/$sc.memstats.1.txt" |
			awk -v n="$n" '{d=$4-$2; printf "| %s | %s | %s | %.2f |\n", $1, $2, $4, d/n}'
		echo
		echo "### in-use heap, by function (difference over the sessions)"
		go tool pprof -top -sample_index=inuse_space -nodecount="$NODES" \
			-base "$OUT/$sc.heap.0.pb.gz" "$OUT/$sc.heap.1.pb.gz" 2>/dev/null
		if [[ $IDLE_HEARTBEAT == 1 ]]; then
			echo
			echo "### allocated over the first heartbeat (18 s to $((h - 3)) s), by function"
			go tool pprof -top -sample_index=alloc_space -nodecount="$NODES" -ignore='runtime/pprof|compress/' \
				-base "$OUT/$sc.heartbeat.0.pb.gz" "$OUT/$sc.heartbeat.1.pb.gz" 2>/dev/null
			echo
			allocated "$OUT/$sc.heartbeat.0.pb.gz" "$OUT/$sc.heartbeat.1.pb.gz" |
				awk -v n="$n" '{ printf "the heartbeat allocated %.1f objects and %.0f bytes per session (the profiles'"'"' own left out)\n", $1/n, $2/n }'
		fi
	} >"$OUT/$sc.txt"
	cat "$OUT/$sc.txt"
}

for sc in $PROFILE_SCENARIOS; do
	if [[ $sc == idle-* || $sc == idlepoll-* || $sc == idleget-* ]]; then
		profile_idle "$sc"
		continue
	fi
	log "$sc: CPU profile"
	start 524288 "$OUT/$sc.cpu.server.log"
	load "$sc" "$sc.cpu"
	sleep "$W"
	pp "/debug/pprof/profile?seconds=$D" >"$OUT/$sc.cpu.pb.gz"
	finish_load
	stop

	log "$sc: allocation profiles (MemProfileRate=$MEMRATE)"
	start "$MEMRATE" "$OUT/$sc.allocs.server.log"
	load "$sc" "$sc.allocs"
	sleep "$W"
	c0=$(pp /count)
	pp /debug/pprof/allocs >"$OUT/$sc.allocs.0.pb.gz"
	sleep "$D"
	c1=$(pp /count)
	pp /debug/pprof/allocs >"$OUT/$sc.allocs.1.pb.gz"
	finish_load
	stop

	msgs=$((c1 - c0))
	{
		echo "## $sc"
		echo
		echo "CPU run: $(grep -m1 -E '^  echo ' "$OUT/$sc.cpu.eioload.txt" | sed 's/^ *//')"
		echo "         $(grep -m1 -E '^  server ' "$OUT/$sc.cpu.eioload.txt" | sed 's/^ *//')"
		echo "         $(grep -m1 -E '^  machine ' "$OUT/$sc.cpu.eioload.txt" | sed 's/^ *//')"
		echo "allocation run: $msgs messages echoed between the two allocation profiles"
		echo
		echo "### CPU, flat"
		go tool pprof -top -nodecount="$NODES" "$OUT/$sc.cpu.pb.gz" 2>/dev/null
		echo
		echo "### CPU, cumulative"
		go tool pprof -top -cum -nodecount="$NODES" "$OUT/$sc.cpu.pb.gz" 2>/dev/null
		for idx in alloc_objects alloc_space; do
			echo
			echo "### $idx over the window ($msgs messages)"
			go tool pprof -top -sample_index="$idx" -nodecount="$NODES" -ignore='runtime/pprof' \
				-base "$OUT/$sc.allocs.0.pb.gz" "$OUT/$sc.allocs.1.pb.gz" 2>/dev/null
		done
		echo
		echo "### allocations per message"
		allocated "$OUT/$sc.allocs.0.pb.gz" "$OUT/$sc.allocs.1.pb.gz" |
			awk -v m="$msgs" '{ if (m>0) printf "%.2f allocations and %.0f bytes per echoed message (%d messages; pprof'"'"'s own allocations left out)\n", $1/m, $2/m, m }'
	} >"$OUT/$sc.txt"
	cat "$OUT/$sc.txt"
done
log "profiles and summaries in $OUT"
