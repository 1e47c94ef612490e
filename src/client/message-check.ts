/** Checks what a send() carries before any of it is batched. */
import { StreamBusError } from '../errors/index.js';
import { BATCH_OVERHEAD_BYTES, recordSizeBytes } from './producer-batch.js';
import type { ProducerMessage, SendRequest } from './producer-options.js';
import { REQUEST_OVERHEAD_BYTES } from './request-groups.js';

/**
 * Keys, values and header values must be bytes (a Buffer), text or null; header keys text; a timestamp an
 * integer. Anything else once reached the record encoder and failed the whole batch as UNKNOWN_SERVER_ERROR
 * ("size ... Received NaN"). Throws INVALID_REQUEST naming the message and the field.
 */
export function checkMessages(messages: readonly ProducerMessage[], operation: string): void {
  if (!Array.isArray(messages))
    throw invalid(operation, `messages must be an array, got ${kindOf(messages)}`);
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Partial<ProducerMessage> | null | undefined;
    if (typeof m !== 'object' || m === null)
      throw invalid(operation, `message ${i} is ${kindOf(m)}, not an object`);
    if (!isBytesOrNull(m.value))
      throw invalid(operation, `message ${i}: value ${mustBe} got ${kindOf(m.value)}`);
    if (!isBytesOrNull(m.key)) throw invalid(operation, `message ${i}: key ${mustBe} got ${kindOf(m.key)}`);
    if (m.timestamp !== undefined && !Number.isSafeInteger(m.timestamp)) {
      throw invalid(
        operation,
        `message ${i}: timestamp must be an integer (ms since the epoch), got ${kindOf(m.timestamp)}`,
      );
    }
    if (m.headers === undefined) continue;
    if (!Array.isArray(m.headers)) throw invalid(operation, `message ${i}: headers must be an array`);
    for (const h of m.headers as unknown[]) {
      const header = h as { key?: unknown; value?: unknown } | null;
      if (typeof header !== 'object' || header === null || typeof header.key !== 'string') {
        throw invalid(operation, `message ${i}: each header needs a string key`);
      }
      if (!isBytesOrNull(header.value)) {
        throw invalid(
          operation,
          `message ${i}: header ${header.key} value ${mustBe} got ${kindOf(header.value)}`,
        );
      }
    }
  }
}

/**
 * A message too large for any request (`maxRequestBytes`, lowered to a broker's limits.frame_bytes_max once
 * one refused a larger request) fails the send at once with BATCH_TOO_LARGE, before any of it is batched, as
 * Kafka's producer checks max.request.size: sent, its frame would only be refused (FRAME_TOO_LARGE) at the
 * cost of the connection. (One under that but over the brokers' batch limit is refused by the broker, alone.)
 */
export function checkMessageSizes(request: SendRequest, maxRequestBytes: number, operation: string): void {
  const room =
    maxRequestBytes - REQUEST_OVERHEAD_BYTES - BATCH_OVERHEAD_BYTES - Buffer.byteLength(request.topic);
  for (let i = 0; i < request.messages.length; i++) {
    const size = recordSizeBytes(request.messages[i]!);
    if (size <= room) continue;
    throw new StreamBusError('BATCH_TOO_LARGE', {
      operation,
      message: `message ${i} to ${request.topic} is about ${size} bytes, more than a request may carry (${maxRequestBytes} bytes: maxRequestBytes, or a broker's limits.frame_bytes_max once it refused a larger request)`,
      metadata: { topic: request.topic, sizeBytes: size, maxRequestBytes },
    });
  }
}

const mustBe = 'must be a Buffer, a string or null;';

function isBytesOrNull(v: unknown): boolean {
  return v === null || v === undefined || typeof v === 'string' || Buffer.isBuffer(v);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Uint8Array)
    return 'a Uint8Array (wrap it: Buffer.from(array.buffer, array.byteOffset, array.length))';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function invalid(operation: string, message: string): StreamBusError {
  return new StreamBusError('INVALID_REQUEST', { operation, message });
}
