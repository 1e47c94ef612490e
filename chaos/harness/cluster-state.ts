/**
 * What the harness asks a running cluster: is every broker ready (metadata quorum up), and which node leads a
 * topic partition (the victim of leader-targeted faults). Reads only; never changes the cluster.
 */
import { createClient, type StreamBusClient } from '../../src/index.js';
import type { MetadataResponse } from '../../src/protocol/messages.js';
import { type Clock, sleep } from './clock.js';
import type { BrokerCluster } from './cluster.js';

async function isReady(host: string, httpPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}:${httpPort}/health/ready`, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Resolves once every node answers /health/ready with 200; throws after `timeoutMs`. */
export async function waitAllReady(cluster: BrokerCluster, clock: Clock, timeoutMs: number): Promise<void> {
  const deadline = clock.nowMs() + timeoutMs;
  for (;;) {
    const ready = await Promise.all(cluster.nodes.map((n) => isReady(n.host, n.httpPort)));
    if (ready.every(Boolean)) return;
    if (clock.nowMs() > deadline) {
      const down = cluster.nodes.filter((_, i) => !ready[i]).map((n) => n.id);
      throw new Error(`brokers ${down.join(', ')} not ready after ${timeoutMs} ms`);
    }
    await sleep(200);
  }
}

/** partition -> node index of its leader, for partitions whose leader is a known node. Pure. */
export function leadersByPartition(
  md: MetadataResponse,
  topic: string,
  indexOfBroker: (brokerId: number) => number | null,
): Map<number, number> {
  const out = new Map<number, number>();
  const t = md.topics.find((x) => x.name === topic);
  if (t === undefined || t.error !== null) return out;
  for (const p of t.partitions) {
    if (p.error !== null || p.leaderId < 0) continue;
    const index = indexOfBroker(p.leaderId);
    if (index !== null) out.set(p.partition, index);
  }
  return out;
}

/** A metadata-only client for the harness (its own client id, short timeouts so a fault never stalls it). */
export class LeaderLookup {
  private readonly client: StreamBusClient;

  constructor(
    private readonly cluster: BrokerCluster,
    private readonly topic: string,
  ) {
    this.client = createClient({
      bootstrap: cluster.bootstrap,
      clientId: 'chaos-harness',
      requestTimeoutMs: 2000,
      connectTimeoutMs: 1000,
      reconnectBackoffMaxMs: 300,
    });
  }

  /** Leaders right now; an empty map when metadata cannot be had. */
  async leaders(): Promise<Map<number, number>> {
    try {
      const md = await this.client.admin().metadata([this.topic]);
      return leadersByPartition(md, this.topic, (id) => this.cluster.indexOfBroker(id));
    } catch {
      return new Map();
    }
  }

  /** Waits until every partition of the topic has a live leader; throws after `timeoutMs`. */
  async waitAllLed(partitions: number, clock: Clock, timeoutMs: number): Promise<Map<number, number>> {
    const deadline = clock.nowMs() + timeoutMs;
    for (;;) {
      const leaders = await this.leaders();
      if (leaders.size === partitions) return leaders;
      if (clock.nowMs() > deadline)
        throw new Error(
          `only ${leaders.size} of ${partitions} partitions have a leader after ${timeoutMs} ms`,
        );
      await sleep(200);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
