#!/usr/bin/env bash
# scripts/bench.sh — measure the daemon with thorchat-load.
#
# Builds bin/thorchatd and bin/thorchat-load, starts the daemon with a
# throw-away benchmark config pinned to one CPU, runs the load tool pinned
# to another, and stops exactly the daemon it started (by PID, from a trap)
# however the run ends. Extra arguments go to thorchat-load, e.g.
#
#   scripts/bench.sh                       # all scenarios, default sizes
#   scripts/bench.sh -scenario fanout -members 200
#   scripts/bench.sh -json bench.json -strict
#   scripts/bench.sh -scenario flood       # flood isolation, default throttling
#   scripts/bench.sh -scenario login       # SASL logins per second
#   BENCH_UNIX=0 scripts/bench.sh -scenario login   # the same over TCP
#   scripts/bench.sh -scenario history     # history off vs on, store, CHATHISTORY, start-up
#   BENCH_HISTORY=0 scripts/bench.sh -scenario fanout   # any scenario with [history] enabled = false
#
# The history scenario starts no daemon here: the load tool runs its own
# (pinned the same way), first with [history] enabled = false, then with
# history on and an empty data_dir, and stops each by PID; the script
# writes both configurations. BENCH_HISTORY (unset: the daemon's default,
# history on) writes [history] enabled for the other scenarios.
#
# The flood scenario needs the daemon's default command throttle and
# connection limits, so for it the script writes a configuration with
# [flood] rate = 2.0, burst = 10, excess = 40 and no [limits] overrides
# but origin_conn_rate/origin_conn_burst (every client of the benchmark
# comes from 127.0.0.1, one origin for that rate on the dev listener);
# every other scenario runs with throttling off (rate = 0). The login
# scenario also raises [accounts] login_rate (default 2,000 verifications
# a second server-wide, which would otherwise be what is measured); its
# accounts go to the daemon's store under the throw-away data_dir.
#
# The login target is "on 2 cores", so that scenario by default gives the
# daemon both CPUs 0 and 1 and runs the load tool on the same two (it takes
# its share from them), and logs in over the daemon's unix-socket listener,
# the way connections arrive from tor (M then binds the server name and
# port 0). BENCH_UNIX=0 logs in over TCP instead.
#
# Environment: BENCH_PORT (16667), SERVER_CPU and LOAD_CPU (taskset CPU
# lists; 0 and 1, or 0,1 and 0,1 for the login scenario), GO (go),
# BENCH_GOGC (unset: the daemon's default GC), BENCH_UNIX (login: 1),
# BENCH_HISTORY (0 or 1; unset: the default, on).
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
PORT=${BENCH_PORT:-16667}
ADDR="127.0.0.1:${PORT}"

mkdir -p bin
"$GO" build -o bin/thorchatd ./cmd/thorchatd
"$GO" build -o bin/thorchat-load ./cmd/thorchat-load

work=$(mktemp -d)
server_pid=""
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Which scenario? (-scenario X or -scenario=X among the arguments)
scenario=all
prev=""
for a in "$@"; do
	case "$prev" in -scenario | --scenario) scenario=$a ;; esac
	case "$a" in -scenario=* | --scenario=*) scenario=${a#*=} ;; esac
	prev=$a
done

if [ "$scenario" = login ]; then
	SERVER_CPU=${SERVER_CPU:-0,1}
	LOAD_CPU=${LOAD_CPU:-0,1}
	BENCH_UNIX=${BENCH_UNIX:-1}
fi
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}

cat >"$work/bench.toml" <<EOF
[server]
name = "bench.local"
data_dir = "$work/data"
log_level = "warn"
[listen]
onion = false
dev_tcp = ["$ADDR"]
unix = ["$work/irc.sock"]
EOF
case "$scenario" in
flood)
	# The defaults, spelled out: the scenario measures them.
	cat >>"$work/bench.toml" <<EOF
[flood]
rate = 2.0
burst = 10
excess = 40
[limits]
origin_conn_rate = 1000000.0  # every benchmark client comes from 127.0.0.1, one origin on the dev listener
origin_conn_burst = 1000000
EOF
	;;
*)
	cat >>"$work/bench.toml" <<EOF
[limits]
max_clients = 20000
sendq_bytes = 1048576
conn_rate = 0               # the benchmark opens thousands of connections a second
origin_conn_rate = 1000000.0  # …all from 127.0.0.1, one origin on the dev listener
origin_conn_burst = 1000000
max_unauthenticated = 0     # the idle clients are guests
[flood]
rate = 0
EOF
	if [ "$scenario" = login ]; then
		cat >>"$work/bench.toml" <<EOF
[accounts]
login_rate = 1000000.0      # the default 2,000/s bucket would cap the measurement
login_burst = 100000
create_rate = 1000000000.0  # first-time logins create accounts: nor should the creation bucket
create_burst = 1000000
EOF
	fi
	;;
esac
case "${BENCH_HISTORY:-}" in
"") ;;
0 | 1)
	if [ "$scenario" = history ]; then
		echo "bench.sh: the history scenario sets [history] itself; unset BENCH_HISTORY" >&2
		exit 2
	fi
	enabled=false
	[ "$BENCH_HISTORY" = 1 ] && enabled=true
	printf '[history]\nenabled = %s\n' "$enabled" >>"$work/bench.toml"
	;;
*)
	echo "bench.sh: BENCH_HISTORY must be 0 or 1" >&2
	exit 2
	;;
esac
if [ "$scenario" = history ]; then
	# one data_dir per configuration: history on starts empty
	sed "s|$work/data|$work/data-off|" "$work/bench.toml" >"$work/bench-off.toml"
	printf '[history]\nenabled = false\n' >>"$work/bench-off.toml"
	sed "s|$work/data|$work/data-on|" "$work/bench.toml" >"$work/bench-on.toml"
	printf '[history]\nenabled = true\nmax_per_target = 100000  # the store scenario puts fill/senders (20,000) in each channel\n' >>"$work/bench-on.toml"
	bin/thorchatd -config "$work/bench-off.toml" -check >/dev/null
	bin/thorchatd -config "$work/bench-on.toml" -check >/dev/null
else
	bin/thorchatd -config "$work/bench.toml" -check >/dev/null
fi

# Both processes need a file descriptor per connection: 5,000 idle clients
# plus the registration and fan-out connections.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt 20000 ]; then
	echo "bench.sh: the open-file hard limit is $hard; 5,000 idle clients need more (raise it as root)" >&2
fi
ulimit -n "$hard" 2>/dev/null || true

pin_server=()
pin_load=()
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
	pin_server=(taskset -c "$SERVER_CPU")
	pin_load=(taskset -c "$LOAD_CPU")
else
	echo "bench.sh: taskset or a second CPU is missing; running unpinned" >&2
fi

if [ "$scenario" = history ]; then
	daemon_cmd="${pin_server[*]} bin/thorchatd"
	if [ -n "${BENCH_GOGC:-}" ]; then
		daemon_cmd="env GOGC=$BENCH_GOGC $daemon_cmd" # the daemons only, not the tool
	fi
	set +e
	"${pin_load[@]}" bin/thorchat-load -addr "$ADDR" -timeout 15m \
		-daemon "$daemon_cmd" \
		-config-off "$work/bench-off.toml" -config-on "$work/bench-on.toml" \
		-data-dir "$work/data-on" -log-dir "$work" "$@"
	rc=$?
	set -e
	cat "$work"/daemon-*.log 2>/dev/null | grep -E 'level=(ERROR|WARN)' | grep -v 'non-onion listeners' | head -5 >&2 || true
	exit "$rc"
fi
if [ -n "${BENCH_GOGC:-}" ]; then
	export GOGC="$BENCH_GOGC"
fi
"${pin_server[@]}" bin/thorchatd -config "$work/bench.toml" 2>"$work/server.log" &
server_pid=$!
unset GOGC

# Wait (bounded) until the daemon listens.
for _ in $(seq 1 100); do
	if ! kill -0 "$server_pid" 2>/dev/null; then
		echo "bench.sh: the daemon exited:" >&2
		cat "$work/server.log" >&2
		exit 1
	fi
	if grep -q "$(printf ':%04X ' "$PORT")" /proc/net/tcp 2>/dev/null; then
		break
	fi
	sleep 0.1
done

unix_args=()
if [ "${BENCH_UNIX:-0}" = 1 ]; then
	unix_args=(-unix "$work/irc.sock" -login-host bench.local)
fi
set +e
"${pin_load[@]}" bin/thorchat-load -addr "$ADDR" -server-pid "$server_pid" "${unix_args[@]}" "$@"
rc=$?
set -e
grep -E 'level=(ERROR|WARN)' "$work/server.log" 2>/dev/null | grep -v 'non-onion listeners' | head -5 >&2 || true
exit "$rc"
