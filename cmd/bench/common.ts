import type { Admin, Compression, StreamBusClient } from '../../src/index.js';
import { type ConnectFlags, cliClient } from '../commands/connect-flags.js';

export interface BenchOptions extends ConnectFlags {
  topic: string;
  messages: number;
  size: number;
  /** Messages per producer batch (and per send() call). */
  batch: number;
  acks: 0 | 1 | -1;
  /** How the producer compresses batches (produce and e2e). */
  compression: Compression;
  partitions: number;
  /** send() calls outstanding at once. */
  inFlight: number;
  lingerMs: number;
  rate: number;
  durationS: number;
  /**
   * Messages sent (and for consume, read) before measuring, in the same process: connections, metadata
   * and the JIT warm up as in the peers' harness (10,000 un-measured messages per peer).
   */
  warmup: number;
  /** consume: the consumer's rack (clientRack), to read from an in-sync replica there. */
  clientRack?: string;
}

export function benchClient(flags: ConnectFlags, clientId = 'streambus-bench'): StreamBusClient {
  return cliClient(flags, clientId);
}

/** Creates the bench topic when missing (broker default replication factor: 3 in a cluster); an existing topic is used as it is. */
export async function ensureTopic(admin: Admin, topic: string, partitions: number): Promise<void> {
  const existing = await admin.listTopics();
  if (existing.some((t) => t.name === topic)) return;
  await admin.createTopic({ name: topic, partitions, replicationFactor: -1 });
}

export function nowNs(): bigint {
  return process.hrtime.bigint();
}
