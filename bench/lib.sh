# shellcheck shell=bash
# Shared by the bench scripts (run.sh, profile.sh, spread.sh, kernel.sh,
# callgrind.sh): messages on stderr, a work directory, and the processes a
# script starts, recorded in PIDS and ended by pid when it exits, however
# it exits.
#
#   source "$ROOT/bench/lib.sh"
#   log "building"              # [run.sh 12:00:00] building, on stderr
#   die "no node"               # logs "error: no node" and exits 1
#   bench_work eio-bench        # sets WORK, a new directory under /tmp
#   cmd & PIDS+=($!)            # ended on exit
#   forget_pid "$pid"           # after waiting for it
#   port_open 3000              # something listens on 127.0.0.1:3000

PIDS=()

# BENCH_SCRIPT names the script in its messages.
BENCH_SCRIPT=$(basename "$0")

log() { printf '[%s %s] %s\n' "$BENCH_SCRIPT" "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# bench_work makes WORK, /tmp/<prefix>.XXXXXX, and sets the traps that
# end the recorded processes and remove WORK.
bench_work() {
	WORK=$(mktemp -d "/tmp/$1.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

bench_cleanup() {
	local rc=$? pid
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
	exit "$rc"
}

# forget_pid drops a process that has ended from PIDS.
forget_pid() {
	local keep=() p
	for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# port_open reports whether something listens on 127.0.0.1:$1.
port_open() { (: >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
