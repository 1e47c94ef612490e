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

export function wireError(code: ErrorCode, message?: string): WireError {
  return fromStreamBusError(new StreamBusError(code, message === undefined ? {} : { message }));
}
