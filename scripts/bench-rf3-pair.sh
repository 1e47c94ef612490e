#!/usr/bin/env bash
# Single node against replication factor 3, in the same run: a 1-broker and a 3-broker dev-cluster on
# 127.0.6.1, a topic of 3 partitions, `bench produce` of 1 KiB messages with acks=all, three runs each,
# ROUNDS rounds alternating (the machine is shared: compare within a round). Prints one line per run.
# Usage: npm run build && scripts/bench-rf3-pair.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-2}"
CLI=dist/cmd/streambus.js
run() { # brokers replication-factor label
  local brokers=$1 rf=$2 label=$3 dir bootstrap pid
  dir=$(mktemp -d /tmp/streambus-pair-XXXXXX)
  node "$CLI" dev-cluster --brokers "$brokers" --data-dir "$dir" --base-port 19092 --host 127.0.6.1 >"$dir/dc.out" 2>"$dir/dc.err" &
  pid=$!
  for _ in $(seq 1 120); do grep -qi ready "$dir/dc.out" 2>/dev/null && break; sleep 0.5; done
  bootstrap=127.0.6.1:19092
  [ "$brokers" -ge 3 ] && bootstrap=127.0.6.1:19092,127.0.6.1:19102,127.0.6.1:19112
  node "$CLI" topic create bench --partitions 3 --replication-factor "$rf" --bootstrap "$bootstrap" >/dev/null
  sleep 2
  for _ in 1 2 3; do
    node "$CLI" bench produce --topic bench --size 1024 --messages 100000 --acks all --bootstrap "$bootstrap" 2>/dev/null |
      tail -1 | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s);console.log('$label',j.msgs_per_s,'msgs/s p99',Math.round(j.p99_us/1000),'ms load',require('fs').readFileSync('/proc/loadavg','utf8').split(' ')[0])})"
  done
  kill -INT "$pid"
  wait "$pid" || true
  rm -rf "$dir"
}
for _ in $(seq 1 "$ROUNDS"); do
  run 1 1 single
  run 3 3 rf3
done
