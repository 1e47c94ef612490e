import { type ErrorCode, StreamBusError, toStreamBusError } from '../../errors/index.js';
import { toWireError as fromStreamBusError, type WireError } from '../../protocol/index.js';

/** The form any thrown value takes in a response body. */
export function toWireError(err: unknown, operation?: string): WireError {
  return fromStreamBusError(toStreamBusError(err, operation));
}

export function wireError(code: ErrorCode, message?: string): WireError {
  return fromStreamBusError(new StreamBusError(code, message === undefined ? {} : { message }));
}
