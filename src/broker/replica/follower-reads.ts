/**
 * A follower's copy of a partition as consumers read it (fetch from followers, Kafka's KIP-392): only what
 * this copy knows to be committed, up to its own high watermark (the commits it has applied), so a
 * consumer never sees data a new leader could truncate. That high watermark trails the leader's by a
 * replication round trip, so a consumer that read further at the leader (before it was sent here, or
 * between two visits) asks for an offset this copy has not committed yet: that is "nothing yet" (an empty
 * answer, the fetch's long poll waiting for this high watermark to move), never OFFSET_OUT_OF_RANGE, which
 * would make the consumer reset a position the leader holds. Below this copy's log start the answer is
 * OFFSET_OUT_OF_RANGE as the leader's would be; the SDK takes any error from a follower as a reason to go
 * back to the leader, which decides for itself (client/read-replicas.ts).
 */
import type { PartitionReads, ReadOutcome } from '../catalog.js';
import type { PartitionReplica } from './partition-replica.js';

const NOTHING = Buffer.alloc(0);

export function followerReads(
  replica: Pick<PartitionReplica, 'read' | 'highWatermark' | 'logStartOffset' | 'onHighWatermark'>,
): PartitionReads {
  return {
    read: async (offset, maxBytes, buffers): Promise<ReadOutcome> => {
      const highWatermark = replica.highWatermark();
      const logStartOffset = replica.logStartOffset();
      if (offset > highWatermark) return { records: NOTHING, highWatermark, logStartOffset };
      return replica.read(offset, maxBytes, buffers);
    },
    highWatermark: () => replica.highWatermark(),
    logStartOffset: () => replica.logStartOffset(),
    onHighWatermark: (listener) => replica.onHighWatermark(listener),
  };
}
