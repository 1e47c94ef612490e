#!/usr/bin/env bash
# StreamBus and its peers (NATS JetStream, Redis Streams) on the same machine and workload, in one run:
# 1 KiB incompressible messages, 200,000 for produce and consume, e2e at 5,000 msgs/s for 5 s, and acked
# publish latency with one message in flight. StreamBus runs with its defaults (fsync before every ack).
# Replication factor 3 is measured in the same run: the same publish (and e2e) against a 3-broker dev-cluster.
#
# Every publish phase starts after DISK_SETTLE_S seconds without writes: some VM disks (this one) take
# synchronous writes fast for a burst of a few hundred MiB and then throttle them until they have been idle
# (scripts/disk-dsync-probe.mjs shows it). Three replicas on one disk write every byte three times, so
# without the pause the replicated run would measure the throttle, not the brokers.
# Usage: scripts/bench-vs-peers.sh [reps]   (results: $OUT_DIR, default /tmp/streambus-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${1:-3}"
OUT_DIR="${OUT_DIR:-/tmp/streambus-bench}"
PEERS_DIR="${PEERS_DIR:-../shared/peers}"
PORT="${STREAMBUS_BENCH_PORT:-19392}"
DISK_SETTLE_S="${DISK_SETTLE_S:-20}"
RF3_HOST="${RF3_HOST:-127.0.6.1}"
mkdir -p "$OUT_DIR"
: >"$OUT_DIR/streambus.jsonl"
npm run build >/dev/null

CLI="node dist/cmd/streambus.js"
# The single broker runs with the V8 flags every launcher gives it (npm start, Dockerfile, dev-cluster).
BROKER_FLAGS=$(node --input-type=module -e "import { BROKER_NODE_FLAGS } from './dist/src/broker/node-flags.js'; console.log(BROKER_NODE_FLAGS.join(' '))")
BOOT="127.0.0.1:$PORT"
for rep in $(seq 1 "$REPS"); do
  data=$(mktemp -d)
  # shellcheck disable=SC2086
  node $BROKER_FLAGS dist/cmd/streambus.js broker --data-dir "$data" --listen "$BOOT" --http-listen 127.0.0.1:0 >"$OUT_DIR/broker-$rep.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do grep -q '"broker started"' "$OUT_DIR/broker-$rep.log" && break; sleep 0.1; done
  # Warm-up (not recorded), then the measured phases, each on a fresh topic.
  $CLI bench produce --bootstrap "$BOOT" --topic warm --messages 10000 >/dev/null 2>&1
  sleep "$DISK_SETTLE_S"
  $CLI bench produce --bootstrap "$BOOT" --topic tp --messages 200000 2>/dev/null | tail -1 >>"$OUT_DIR/streambus.jsonl"
  $CLI bench consume --bootstrap "$BOOT" --topic tp --messages 200000 2>/dev/null | tail -1 >>"$OUT_DIR/streambus.jsonl"
  $CLI bench e2e --bootstrap "$BOOT" --topic e2e --rate 5000 --duration 5 2>/dev/null | tail -1 >>"$OUT_DIR/streambus.jsonl"
  $CLI bench produce --bootstrap "$BOOT" --topic sync --messages 5000 --batch 1 --in-flight 1 --linger-ms 0 2>/dev/null \
    | tail -1 | sed 's/"bench":"produce"/"bench":"sync"/' >>"$OUT_DIR/streambus.jsonl"
  kill -TERM "$pid"; wait "$pid" || true
  rm -rf "$data"

  # The same publish with replication factor 3: three brokers on one machine, acks=all.
  data=$(mktemp -d)
  $CLI dev-cluster --brokers 3 --data-dir "$data" --base-port 19092 --host "$RF3_HOST" >"$OUT_DIR/cluster-$rep.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 240); do grep -qi ready "$OUT_DIR/cluster-$rep.log" && break; sleep 0.5; done
  RF3_BOOT="$RF3_HOST:19092,$RF3_HOST:19102,$RF3_HOST:19112"
  $CLI topic create warm --replication-factor 3 --bootstrap "$RF3_BOOT" >/dev/null
  $CLI topic create tp --replication-factor 3 --bootstrap "$RF3_BOOT" >/dev/null
  $CLI bench produce --bootstrap "$RF3_BOOT" --topic warm --messages 10000 >/dev/null 2>&1
  sleep "$DISK_SETTLE_S"
  $CLI bench produce --bootstrap "$RF3_BOOT" --topic tp --messages 200000 2>/dev/null \
    | tail -1 | sed 's/"bench":"produce"/"bench":"produce_rf3"/' >>"$OUT_DIR/streambus.jsonl"
  # e2e at the same rate on a replicated partition (a consumer tailing it while acks=all writes commit).
  $CLI topic create e2e --replication-factor 3 --bootstrap "$RF3_BOOT" >/dev/null
  $CLI bench e2e --bootstrap "$RF3_BOOT" --topic e2e --rate 5000 --duration 5 2>/dev/null \
    | tail -1 | sed 's/"bench":"e2e"/"bench":"e2e_rf3"/' >>"$OUT_DIR/streambus.jsonl"
  kill -INT "$pid"; wait "$pid" || true
  rm -rf "$data"
done

node -e '
const lines = require("node:fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const of = (bench, key) => med(lines.filter((l) => l.bench === bench).map((l) => l[key]));
console.log("streambus (median of " + lines.filter((l) => l.bench === "produce").length + "):");
console.log("  publish msgs/s      ", of("produce", "msgs_per_s"));
console.log("  publish RF 3 msgs/s ", of("produce_rf3", "msgs_per_s"), " (RF 3 / single:", (of("produce_rf3", "msgs_per_s") / of("produce", "msgs_per_s")).toFixed(2) + ")");
console.log("  consume msgs/s      ", of("consume", "msgs_per_s"));
console.log("  e2e p50 / p99 us    ", of("e2e", "p50_us"), "/", of("e2e", "p99_us"));
console.log("  e2e RF 3 p50 / p99 us", of("e2e_rf3", "p50_us"), "/", of("e2e_rf3", "p99_us"));
console.log("  sync pub p50 / p99 us", of("sync", "p50_us"), "/", of("sync", "p99_us"));
' "$OUT_DIR/streambus.jsonl" | tee "$OUT_DIR/streambus-summary.txt"

PEERS_TMP="$OUT_DIR/peers" bash "$PEERS_DIR/run.sh" --reps "$REPS" 2>&1 | tee "$OUT_DIR/peers.txt" | tail -30
