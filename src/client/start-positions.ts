/**
 * Where assigned partitions without a position start: autoOffsetReset's earliest or latest offset, asked of
 * each partition's leader (Kafka's auto.offset.reset). A group member's partitions waiting for their
 * committed offset are left to the group.
 */
import { isRetriable, StreamBusError } from '../errors/index.js';
import { EARLIEST_TIMESTAMP, fromWireError, LATEST_TIMESTAMP } from '../protocol/index.js';
import type { Cluster } from './cluster.js';
import type { AutoOffsetReset, PartitionState } from './fetch-round.js';
import { listOffsetsByLeader } from './list-offsets.js';

export interface StartPositions {
  readonly cluster: Cluster;
  readonly partitions: ReadonlyMap<string, PartitionState>;
  readonly autoOffsetReset: AutoOffsetReset;
  /** True for a partition whose start is the group's committed offset, not yet known. */
  readonly awaitsCommitted: (p: PartitionState) => boolean;
  readonly signal: AbortSignal;
}

/**
 * Starts the partitions without a position; returns those whose topic was deleted (they stay unresolved).
 * A partition whose leader is unknown or unreachable right now stays unresolved and the next round asks
 * again; the others start now (one failover must not hold up every partition). OFFSET_OUT_OF_RANGE when one
 * needs a start and autoOffsetReset is none.
 */
export async function resolveStartPositions(o: StartPositions): Promise<PartitionState[]> {
  const unresolved = [...o.partitions.values()].filter(
    (p) => p.fetchOffset === null && !o.awaitsCommitted(p),
  );
  const gone: PartitionState[] = [];
  if (unresolved.length === 0) return gone;
  if (o.autoOffsetReset === 'none') {
    throw new StreamBusError('OFFSET_OUT_OF_RANGE', {
      operation: 'consumer.poll',
      message: `no position for ${unresolved[0]!.topic}/${unresolved[0]!.partition} and autoOffsetReset is none`,
    });
  }
  const epochs = unresolved.map((p) => p.epoch);
  const ts = o.autoOffsetReset === 'earliest' ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP;
  const results = await listOffsetsByLeader(
    o.cluster,
    unresolved.map((p) => ({ topic: p.topic, partition: p.partition, timestamp: ts })),
    o.signal,
  );
  unresolved.forEach((p, i) => {
    const r = results[i]!;
    if (r.error !== null) {
      const err = fromWireError(r.error, 'consumer.poll');
      // Asked again with fresh metadata (listOffsetsByLeader) and still unknown: its topic was deleted.
      if (err.code === 'UNKNOWN_TOPIC_OR_PARTITION') gone.push(p);
      else if (!isRetriable(err)) throw err;
      return;
    }
    // A seek since the question was asked wins.
    if (p.fetchOffset !== null || p.epoch !== epochs[i]) return;
    p.fetchOffset = Math.max(0, r.offset);
    p.position = p.fetchOffset;
  });
  return gone;
}
