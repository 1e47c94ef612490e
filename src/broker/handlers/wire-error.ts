import { type ErrorCode, StreamBusError, toStreamBusError } from '../../errors/index.js';
import { toWireError as fromStreamBusError, type WireError } from '../../protocol/index.js';

/** The form any thrown value takes in a response body. */
export function toWireError(err: unknown, operation?: string): WireError {
  return fromStreamBusError(toStreamBusError(err, operation));
}

/** A per-partition failure: reported to the observer (counted by code and category), then put on the wire. */
export function partitionWireError(
  observer: { onPartitionError?(operation: string, err: StreamBusError): void },
  err: unknown,
  operation: string,
): WireError {
  const e = toStreamBusError(err, operation);
  observer.onPartitionError?.(operation, e);
  return fromStreamBusError(e);
}

/**
 * The leader a NOT_LEADER error names (the replica's Raft view, else the metadata hint), for the answer's
 * `leaderHint`: the client goes there next; -1 for any other error.
 */
export function leaderHintOf(err: unknown): number {
  if (!(err instanceof StreamBusError) || err.code !== 'NOT_LEADER') return -1;
  const leaderId = err.metadata.leaderId;
  return typeof leaderId === 'number' && Number.isInteger(leaderId) && leaderId > 0 ? leaderId : -1;
}

export function wireError(code: ErrorCode, message?: string): WireError {
  return fromStreamBusError(new StreamBusError(code, message === undefined ? {} : { message }));
}
