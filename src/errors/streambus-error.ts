import { ERRORS, type ErrorCategory, type ErrorCode } from './catalogue.js';

export interface StreamBusErrorOptions {
  /** What was being done: `produce`, `metadata.propose`, `segment.append`. */
  operation?: string;
  cause?: unknown;
  metadata?: Record<string, unknown>;
  /** Overrides the catalogue message with something more specific. */
  message?: string;
  /** Milliseconds since the epoch; injected where a clock is injected. */
  timestampMs?: number;
}

/** The one error type StreamBus throws for expected operating errors. Category comes from the catalogue. */
export class StreamBusError extends Error {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  readonly wireCode: number;
  readonly operation: string | undefined;
  readonly metadata: Record<string, unknown>;
  readonly timestampMs: number;

  constructor(code: ErrorCode, options: StreamBusErrorOptions = {}) {
    const spec = ERRORS[code];
    super(
      options.message ?? spec.message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'StreamBusError';
    this.code = code;
    this.category = spec.category;
    this.wireCode = spec.wireCode;
    this.operation = options.operation;
    this.metadata = options.metadata ?? {};
    this.timestampMs = options.timestampMs ?? Date.now();
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      category: this.category,
      message: this.message,
      operation: this.operation,
      metadata: this.metadata,
    };
  }
}

export function isStreamBusError(err: unknown, code?: ErrorCode): err is StreamBusError {
  return err instanceof StreamBusError && (code === undefined || err.code === code);
}

/** Whether retrying (after a refresh or a pause) can succeed. Decided by category, never by message text. */
export function isRetriable(err: unknown): boolean {
  return err instanceof StreamBusError && (err.category === 'retriable' || err.category === 'transient');
}

/** Categorise any thrown value: StreamBusErrors keep theirs, Node's system errors map to the catalogue. */
export function toStreamBusError(err: unknown, operation?: string): StreamBusError {
  if (err instanceof StreamBusError) return err;
  const sysCode = (err as { code?: unknown } | null)?.code;
  const options: StreamBusErrorOptions = { cause: err, message: (err as Error)?.message ?? String(err) };
  if (operation !== undefined) options.operation = operation;
  switch (sysCode) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new StreamBusError('DISK_FULL', options);
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EPIPE':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      return new StreamBusError('NETWORK_ERROR', options);
    case 'EIO':
    case 'EMFILE':
    case 'ENFILE':
      return new StreamBusError('STORAGE_ERROR', options);
    default:
      return new StreamBusError('UNKNOWN_SERVER_ERROR', options);
  }
}

/**
 * A broken invariant: the process must stop loudly rather than continue with corrupt state.
 * Expected operating errors (timeouts, not leader, disk full) are StreamBusErrors instead.
 */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = 'InvariantViolation';
  }
}

export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InvariantViolation(typeof message === 'string' ? message : message());
}
