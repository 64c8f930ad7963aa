#!/usr/bin/env bash
# statsd over loopback UDP, the server on one core: statbox and etsy statsd
# 0.9.0 side by side in one run, with ~1400-byte packets and with one metric
# per packet, for 1,000 and 100,000 distinct counters. bench/statsd/ is the
# load generator (sendmmsg); it receives each server's flushes as a carbon
# capture and counts the lines processed from their statsd.metrics_received.
#
#   ./bench/statsd.sh            (make bench-statsd)
#
# The server runs pinned to core 0 (statbox with GOMAXPROCS=1), the sender to
# core 1. Each run sends for DURATION seconds, as fast as the sender can
# (RATE=0) and, for statbox's packed runs, also at 10,000,000 lines/s; then
# waits for two flushes with nothing new (FLUSH × 2 to 3 seconds). Figures: lines/s processed
# (processed / sending time), loss (sent - processed), the server's CPU
# seconds while the sender sent (utime+stime from /proc) and lines processed
# per such CPU second, which stays meaningful when other work shares core 0.
#
# statbox stores what it flushes in whisper files of 1s:5m, created sparse
# (--max-creates-per-minute stays at its default, 600).
#
# Environment (defaults in brackets):
#   DURATION [5]          seconds of sending per run
#   FLUSH [10]            flush interval in seconds, both servers (etsy's and statbox's default)
#   SERVERS [statbox etsy]
#   KEYS [1000 100000]
#   MODES [packed single]  ~1400-byte packets, one line per packet
#   PACKED_RATES [0 10000000]  lines/s offered to statbox's packed runs (0: as fast as the sender can)
#   SINGLE_FLAGS []       more flags for the sender in one-line runs, e.g. "-gso 64 -batch 8"
#                         (UDP GSO: the kernel's send path runs once per 64 datagrams)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5}
FLUSH=${FLUSH:-10}
SERVERS=${SERVERS:-statbox etsy}
KEYS=${KEYS:-1000 100000}
MODES=${MODES:-packed single}
PACKED_RATES=${PACKED_RATES:-0 10000000}
SINGLE_FLAGS=${SINGLE_FLAGS:-}
ETSY=.deps/statsd/node_modules/statsd

[ "$(nproc)" -ge 2 ] || { echo "statsd.sh: needs 2 cores (server on 0, sender on 1)" >&2; exit 1; }
command -v taskset >/dev/null || { echo "statsd.sh: taskset (util-linux) is missing" >&2; exit 1; }
case " $SERVERS " in *" etsy "*)
	[ -f $ETSY/stats.js ] || { echo "statsd.sh: etsy statsd is missing: make deps-statsd" >&2; exit 1; } ;;
esac

dir=$(mktemp -d)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
# statbox writes every flushed series to whisper: small sparse files, so that
# 100,000 keys do not fill the disk (the default schema's files are 3.3 MB).
mkdir -p "$dir/conf"
printf '[all]\npattern = .*\nretentions = 1s:5m\n' >"$dir/conf/storage-schemas.conf"

go build -o "$dir/statbox" ./cmd/statbox
go build -o "$dir/load" ./bench/statsd

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() { # server statsd_port capture_port
	case $1 in
	statbox)
		rm -rf "$dir/data"
		GOMAXPROCS=1 taskset -c 0 "$dir/statbox" run --data "$dir/data" --statsd "127.0.0.1:$2" \
			--admin off --carbon off --pickle off --http off --collect=false --self-interval 0 \
			--flush-interval "${FLUSH}s" --forward "127.0.0.1:$3" --conf-dir "$dir/conf" --sparse-create \
			>"$dir/server.log" 2>&1 &
		server_pid=$! ;;
	etsy)
		cat >"$dir/etsy.js" <<JS
{ port: $2, address: "127.0.0.1", mgmt_port: $(port), mgmt_address: "127.0.0.1", flushInterval: $((FLUSH * 1000)),
  backends: ["./backends/graphite"], graphiteHost: "127.0.0.1", graphitePort: $3 }
JS
		(cd $ETSY && exec taskset -c 0 node stats.js "$dir/etsy.js" >"$dir/server.log" 2>&1) &
		server_pid=$! ;;
	esac
}

printf '%-8s %-7s %-8s %-9s %12s %12s %12s %10s %8s %14s\n' server keys packet offered sent/s processed/s loss loss% cpu_s lines/cpu_s
for keys in $KEYS; do
	for mode in $MODES; do
		lines=0; [ $mode = single ] && lines=1
		for server in $SERVERS; do
			rates=0; [ $server = statbox ] && [ $mode = packed ] && rates=$PACKED_RATES
			for rate in $rates; do
				extra=; [ $mode = single ] && extra=$SINGLE_FLAGS
				sp=$(port); cp=$(port)
				start_server $server "$sp" "$cp"
				sleep 0.3
				out=$(taskset -c 1 "$dir/load" -pid "$server_pid" -addr "127.0.0.1:$sp" -capture "127.0.0.1:$cp" -keys "$keys" \
					-lines $lines -duration "${DURATION}s" -rate "$rate" -settle "$((FLUSH * 3 + 10))s" -first-flush "$((FLUSH * 2 + 10))s" $extra 2>&1 | tail -1) || true
				# KILL, not TERM: the drain would write every flushed series to disk first.
				kill -KILL $server_pid 2>/dev/null || true
				wait $server_pid 2>/dev/null || true
				server_pid=
				case $out in RESULT*) ;; *) echo "$server $keys $mode: $out"; tail -5 "$dir/server.log"; continue ;; esac
				eval "${out#RESULT }"
				offered=max; [ "$rate" != 0 ] && offered=$rate
				cpus=$server_cpu
				printf '%-8s %-7s %-8s %-9s %12.0f %12.0f %12d %9.3f%% %8.2f %14.0f\n' $server $keys $mode $offered \
					$sent_rate $processed_rate $loss "$(awk -v l="$loss" -v s="$sent" 'BEGIN{print 100*l/s}')" $cpus \
					"$(awk -v p="$processed" -v c="$cpus" 'BEGIN{print (c>0)?p/c:0}')"
			done
		done
	done
done
