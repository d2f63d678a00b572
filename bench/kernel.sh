#!/usr/bin/env bash
# Splits each server's CPU between the kernel and its own code under one of
# run.sh's loads, with `perf record -e cpu-clock` on the server's CPU (the
# whole CPU: the kernel's network work for the peer counts where it runs).
# Servers and load generator are pinned as in run.sh. Per server it prints
# the shares of the samples (%): idle, kernel, user space, and the share
# under each system call and under softirq processing (on loopback,
# a write delivers the segment to the peer's socket in the writer's softirq).
# For the Go servers (ours, bare) it then splits their user space by what
# it was doing (bench/cmd/perfsplit: the runtime's allocation and
# collection, stack growth and scheduler, and each package).
#
#   bash bench/kernel.sh                                   # ws-text and connect
#   KERNEL_SCENARIOS=ws-binary SERVERS=ours bash bench/kernel.sh
#
# Settings: KERNEL_SCENARIOS="ws-text connect" (also ws-binary, polling)
#   SERVERS="ours reference bare" RECORD=6 (seconds) PORT=28491
#   SERVER_CPU=0 LOAD_CPU=1 WS_CLOSE=wait OUT=<dir> (default: a new temp dir)
#   WS_CLIENT=lean    eioload's WebSocket echo client (-ws; see run.sh)
# Needs perf (Debian's linux-perf) and a kernel that lets it sample CPU 0.
set -euo pipefail

KERNEL_SCENARIOS=${KERNEL_SCENARIOS:-"ws-text connect"}
SERVERS=${SERVERS:-"ours reference bare"}
RECORD=${RECORD:-6}
PORT=${PORT:-28491}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
WS_CLOSE=${WS_CLOSE:-wait}
WS_CLIENT=${WS_CLIENT:-lean}
OUT=${OUT:-}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# load_args and server_cmd run in command substitutions, where die would
# end only the subshell: every name is checked here first.
for s in $KERNEL_SCENARIOS; do
	case $s in ws-text | ws-binary | polling | connect) ;; *) die "unknown scenario '$s'" ;; esac
done
for s in $SERVERS; do
	case $s in ours | reference | bare) ;; *) die "unknown server '$s'" ;; esac
done
[[ $WS_CLOSE == wait || $WS_CLOSE == drop ]] || die "WS_CLOSE must be wait or drop, got '$WS_CLOSE'"
command -v perf >/dev/null || die "perf (Debian's linux-perf) is needed"
command -v taskset >/dev/null || die "taskset (util-linux) is needed"
bench_work eio-kernel
OUT=${OUT:-$(mktemp -d /tmp/eio-kernel-out.XXXXXX)}
mkdir -p "$OUT"

go build -o "$WORK/eioload" ./bench/cmd/eioload
go build -o "$WORK/echo" ./examples/echo
go build -o "$WORK/bare" ./bench/bare
go build -o "$WORK/perfsplit" ./bench/cmd/perfsplit
if [[ $SERVERS == *reference* ]]; then
	command -v node >/dev/null || die "node is needed for the reference server"
	[[ -d bench/reference/node_modules ]] || (cd bench/reference && npm ci --silent)
fi

load_args() {
	case $1 in
	ws-text) echo "-transport websocket -ws $WS_CLIENT -clients 200 -size 64" ;;
	ws-binary) echo "-transport websocket -ws $WS_CLIENT -clients 200 -size 1024 -binary" ;;
	polling) echo "-transport polling -clients 50 -size 64" ;;
	connect) echo "-transport websocket -connect-only -close $WS_CLOSE -clients 10000000 -concurrency 50 -local-ips 4" ;;
	*) die "unknown scenario $1" ;;
	esac
}

server_cmd() {
	case $1 in
	ours) echo "$WORK/echo -addr 127.0.0.1:$PORT" ;;
	bare) echo "$WORK/bare -addr 127.0.0.1:$PORT" ;;
	reference) echo "node bench/reference/echo.js -host 127.0.0.1 -port $PORT" ;;
	*) die "unknown server $1" ;;
	esac
}

# share SYMBOL: the percentage of samples with SYMBOL on the stack.
share() {
	awk -v s="$2" '$NF == s && $1 ~ /%$/ { v = $1; sub(/%/, "", v); print v; found = 1; exit } END { if (!found) print 0 }' "$1"
}

# emit prints a line of the table and keeps it in OUT/table.md. (The loop
# is not piped into tee: in a subshell, the servers it starts would escape
# the exit trap.)
emit() { printf '%s\n' "$1" | tee -a "$OUT/table.md"; }

: >"$OUT/table.md"
emit '| scenario | server | idle | kernel | user space | write, writev | read | accept4 | close | epoll_wait | epoll_ctl | setsockopt | softirq |'
emit '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'
for scenario in $KERNEL_SCENARIOS; do
	for server in $SERVERS; do
		tag=$scenario.$server
		port_open "$PORT" && die "something already listens on 127.0.0.1:$PORT; set PORT"
		# shellcheck disable=SC2046
		taskset -c "$SERVER_CPU" $(server_cmd "$server") >"$OUT/$tag.server.log" 2>&1 &
		pid=$!
		PIDS+=("$pid")
		for _ in $(seq 100); do port_open "$PORT" && break; sleep 0.1; done
		port_open "$PORT" || die "$server did not listen on port $PORT within 10 s (log: $OUT/$tag.server.log)"
		# shellcheck disable=SC2046
		taskset -c "$LOAD_CPU" "$WORK/eioload" -url "http://127.0.0.1:$PORT/engine.io/" $(load_args "$scenario") \
			-duration $((RECORD + 6))s -warmup 2s >"$OUT/$tag.eioload.txt" 2>&1 &
		load=$!
		PIDS+=("$load")
		sleep 3
		perf record -q -e cpu-clock -g -C "$SERVER_CPU" -o "$OUT/$tag.perf.data" -- sleep "$RECORD" 2>/dev/null
		kill "$load" 2>/dev/null || true
		wait "$load" 2>/dev/null || true
		forget_pid "$load"
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		forget_pid "$pid"

		perf report -i "$OUT/$tag.perf.data" --children --sort sym --stdio -g none 2>/dev/null |
			grep -v '^#' | awk 'NF { $2 = ""; print }' >"$OUT/$tag.children.txt"
		perf report -i "$OUT/$tag.perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
			grep -v '^#' | awk 'NF' >"$OUT/$tag.dso.txt"
		idle=$(share "$OUT/$tag.children.txt" do_idle)
		kern=$(awk '$2 == "[kernel.kallsyms]" { v = $1; sub(/%/, "", v); print v; f = 1 } END { if (!f) print 0 }' "$OUT/$tag.dso.txt")
		row="| $scenario | $server | $idle | $(awk -v k="$kern" -v i="$idle" 'BEGIN { printf "%.1f", k - i }') | $(awk -v k="$kern" 'BEGIN { printf "%.1f", 100 - k }')"
		write=$(awk -v a="$(share "$OUT/$tag.children.txt" ksys_write)" -v b="$(share "$OUT/$tag.children.txt" do_writev)" 'BEGIN { print a + b }')
		row="$row | $write"
		for s in ksys_read __sys_accept4 __x64_sys_close do_epoll_wait do_epoll_ctl __sys_setsockopt handle_softirqs; do
			row="$row | $(share "$OUT/$tag.children.txt" "$s")"
		done
		emit "$row |"
		case $server in
		ours) dso=echo ;;
		bare) dso=bare ;;
		*) dso= ;;
		esac
		if [[ -n $dso ]]; then
			perf script -i "$OUT/$tag.perf.data" -F comm,ip,sym,dso 2>/dev/null |
				"$WORK/perfsplit" -dso "$dso" >"$OUT/$tag.user.md"
		fi
	done
done
for f in "$OUT"/*.user.md; do
	[[ -e $f ]] || continue
	printf '\n%s, user space:\n\n' "$(basename "$f" .user.md)"
	cat "$f"
done
log "perf data and reports in $OUT"
