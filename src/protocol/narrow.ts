/**
 * Field-by-field narrowing of untrusted msgpack values (the output of `unpack`). Every helper either returns
 * the typed value or throws INVALID_REQUEST naming the field by its path, e.g.
 * `Produce.partitions[2].partition must be a non-negative int32`. Nothing here may throw anything but a
 * StreamBusError: the fuzz tests in test/protocol hold it to that.
 */
import { ERRORS, type ErrorCategory, StreamBusError } from '../errors/index.js';
import { ARRAY_LENGTH_MAX, CONFIG_ENTRIES_MAX, NAME_CHARS_MAX, TEXT_CHARS_MAX } from './limits.js';
import type { WireError } from './messages.js';

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

export function invalid(path: string, expected: string): never {
  throw new StreamBusError('INVALID_REQUEST', {
    operation: 'protocol.decode',
    message: `${path} must be ${expected}`,
  });
}

export type WireObject = Record<string, unknown>;

/** A msgpack map decoded as a plain object (not an array, Buffer, Date or Map). */
export function asObject(v: unknown, path: string): WireObject {
  if (typeof v !== 'object' || v === null) return invalid(path, 'a map');
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return invalid(path, 'a map');
  return v as WireObject;
}

/** Own properties only, so a missing field never reads something inherited from Object.prototype. */
export function field(o: WireObject, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

export function asInt32(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
    return invalid(path, 'an int32');
  }
  return v;
}

export function asNonNegInt32(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > INT32_MAX) {
    return invalid(path, 'a non-negative int32');
  }
  return v;
}

/** An int32 that may be -1 ("none", e.g. no leader) but not below. */
export function asInt32OrMinusOne(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -1 || v > INT32_MAX) {
    return invalid(path, 'an int32 >= -1');
  }
  return v;
}

/** Offsets, timestamps and sizes: JS-safe integers no smaller than `min`. */
export function asSafeInt(v: unknown, path: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    return invalid(path, `a safe integer >= ${min}`);
  }
  return v;
}

export function asBool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') return invalid(path, 'a boolean');
  return v;
}

export function asString(v: unknown, path: string, maxChars: number = NAME_CHARS_MAX): string {
  if (typeof v !== 'string') return invalid(path, 'a string');
  if (v.length > maxChars) return invalid(path, `a string of at most ${maxChars} characters`);
  return v;
}

export function asText(v: unknown, path: string): string {
  return asString(v, path, TEXT_CHARS_MAX);
}

export function asNullableString(v: unknown, path: string): string | null {
  return v === null ? null : asString(v, path);
}

/** msgpack bin; a zero-copy Buffer view over the frame. */
export function asBytes(v: unknown, path: string): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return invalid(path, 'binary');
}

export function asArray(v: unknown, path: string, maxLength: number = ARRAY_LENGTH_MAX): unknown[] {
  if (!Array.isArray(v)) return invalid(path, 'an array');
  if (v.length > maxLength) return invalid(path, `an array of at most ${maxLength} elements`);
  return v;
}

/** Maps each element with its own path; the path string is only built for the element being read. */
export function mapArray<T>(
  v: unknown,
  path: string,
  each: (item: unknown, itemPath: string) => T,
  maxLength: number = ARRAY_LENGTH_MAX,
): T[] {
  const arr = asArray(v, path, maxLength);
  const out: T[] = new Array(arr.length);
  for (let i = 0; i < arr.length; i++) out[i] = each(arr[i], `${path}[${i}]`);
  return out;
}

export function asInt32Array(v: unknown, path: string): number[] {
  return mapArray(v, path, asInt32);
}

export function asStringArray(v: unknown, path: string): string[] {
  return mapArray(v, path, (item, p) => asString(item, p));
}

/** A map of string to string (topic configs). */
export function asStringMap(v: unknown, path: string): Record<string, string> {
  const o = asObject(v, path);
  const keys = Object.keys(o);
  if (keys.length > CONFIG_ENTRIES_MAX)
    return invalid(path, `a map of at most ${CONFIG_ENTRIES_MAX} entries`);
  const out: Record<string, string> = {};
  for (const key of keys) {
    asString(key, `${path} key`);
    out[key] = asText(o[key], `${path}.${key}`);
  }
  return out;
}

const CATEGORIES: ReadonlySet<string> = new Set<ErrorCategory>([
  'retriable',
  'transient',
  'fatal',
  'invalid_input',
]);

export function asWireError(v: unknown, path: string): WireError {
  const o = asObject(v, path);
  const code = asNonNegInt32(field(o, 'code'), `${path}.code`);
  const category = field(o, 'category');
  if (typeof category !== 'string' || !CATEGORIES.has(category)) {
    return invalid(`${path}.category`, 'one of retriable, transient, fatal, invalid_input');
  }
  const wire: WireError = {
    code,
    category: category as ErrorCategory,
    message: asText(field(o, 'message'), `${path}.message`),
  };
  const limitBytes = field(o, 'limitBytes');
  if (limitBytes !== undefined) wire.limitBytes = asSafeInt(limitBytes, `${path}.limitBytes`, 0);
  return wire;
}

export function asNullableWireError(v: unknown, path: string): WireError | null {
  return v === null ? null : asWireError(v, path);
}

/** The wire shape of a WireError, with a fixed key order so encoded bytes are stable. */
export function wireErrorOut(e: WireError | null): WireError | null {
  return e === null ? null : { code: e.code, category: e.category, message: e.message };
}

/** A WireError for a catalogue code, for handlers that answer per-partition errors. */
export function wireErrorOf(code: keyof typeof ERRORS, message?: string): WireError {
  const spec = ERRORS[code];
  return { code: spec.wireCode, category: spec.category, message: message ?? spec.message };
}

/** A finite, non-negative number, fractions allowed (scores, ratios). */
export function asNonNegNumber(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return invalid(path, 'a finite number >= 0');
  return v;
}

/** A string that must not be empty (group ids, member ids once assigned). */
export function asNonEmptyString(v: unknown, path: string, maxChars: number = NAME_CHARS_MAX): string {
  const s = asString(v, path, maxChars);
  if (s.length === 0) return invalid(path, `a non-empty string of at most ${maxChars} characters`);
  return s;
}

/** nil, or an array mapped as by mapArray. A missing field is not nil: it is rejected like a wrong type. */
export function mapNullableArray<T>(
  v: unknown,
  path: string,
  each: (item: unknown, itemPath: string) => T,
  maxLength: number = ARRAY_LENGTH_MAX,
): T[] | null {
  if (v === null) return null;
  if (!Array.isArray(v)) return invalid(path, 'an array or nil');
  return mapArray(v, path, each, maxLength);
}
