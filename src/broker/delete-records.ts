/**
 * What a DeleteRecords request asks of one partition, checked against the leader's log the same way on a
 * single node and in a cluster (Kafka's rules): -1 means the high watermark; an offset above the high
 * watermark is OFFSET_OUT_OF_RANGE (those records do not exist yet); one at or below the log start changes
 * nothing.
 */
import { StreamBusError } from '../errors/index.js';

/** The offset DeleteRecords should advance the log start to; undefined when it already is there or past. */
export function logStartTarget(
  request: { readonly topic: string; readonly partition: number; readonly offset: number },
  log: { readonly highWatermark: number; readonly logStartOffset: number },
): number | undefined {
  const { topic, partition, offset } = request;
  const target = offset === -1 ? log.highWatermark : offset;
  if (!Number.isSafeInteger(target) || target < 0 || target > log.highWatermark) {
    throw new StreamBusError('OFFSET_OUT_OF_RANGE', {
      operation: 'delete_records',
      message: `${topic}-${partition}: cannot delete records before offset ${offset}, above the high watermark ${log.highWatermark} (-1 deletes up to it)`,
      metadata: { topic, partition, offset, highWatermark: log.highWatermark },
    });
  }
  return target > log.logStartOffset ? target : undefined;
}
