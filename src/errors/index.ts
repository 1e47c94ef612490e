export { codeFromWire, ERRORS, type ErrorCategory, type ErrorCode, type ErrorSpec } from './catalogue.js';
export {
  InvariantViolation,
  invariant,
  isRetriable,
  isStreamBusError,
  StreamBusError,
  type StreamBusErrorOptions,
  toStreamBusError,
} from './streambus-error.js';
