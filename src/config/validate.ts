import type { ConfigValue, KeySpec } from './schema.js';
import { DURATION_FORM, parseDurationMs, parseSizeBytes, SIZE_FORM } from './units.js';

export type Coerced =
  | { readonly ok: true; readonly value: ConfigValue }
  | { readonly ok: false; readonly problem: string };

/**
 * Turns a raw value (from YAML, an env string or a CLI flag) into the schema's type, or says what was
 * expected. Strings are accepted for every kind because env vars and flags are always strings.
 */
export function coerceValue(spec: KeySpec, raw: unknown): Coerced {
  if (raw === null || (spec.nullable === true && raw === '')) {
    return spec.nullable === true ? ok(null) : fail(spec, 'a value', raw);
  }
  const kind = spec.kind;
  switch (kind.type) {
    case 'int':
    case 'number': {
      const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      const form = kind.type === 'int' ? 'an integer' : 'a number';
      const unlimited = kind.type === 'number' && kind.unlimited === true;
      if (typeof n !== 'number' || !Number.isFinite(n) || (kind.type === 'int' && !Number.isSafeInteger(n))) {
        return fail(
          spec,
          `${form}${rangeText(kind.min, kind.max)}${unlimited ? ' (or -1 for no limit)' : ''}`,
          raw,
        );
      }
      if (unlimited && n === -1) return ok(-1);
      return inRange(spec, n, kind.min, kind.max, form, raw);
    }
    case 'bool': {
      if (typeof raw === 'boolean') return ok(raw);
      const text = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
      if (text === 'true' || text === '1' || text === 'yes') return ok(true);
      if (text === 'false' || text === '0' || text === 'no') return ok(false);
      return fail(spec, 'true or false', raw);
    }
    case 'string': {
      if (typeof raw !== 'string' || (kind.pattern !== undefined && !kind.pattern.test(raw))) {
        return fail(spec, kind.form ?? 'a string', raw);
      }
      return ok(raw);
    }
    case 'enum': {
      if (typeof raw !== 'string' || !kind.values.includes(raw)) {
        return fail(spec, `one of ${kind.values.join(', ')}`, raw);
      }
      return ok(raw);
    }
    case 'duration':
    case 'size': {
      const parsed = kind.type === 'duration' ? parseDurationMs(raw) : parseSizeBytes(raw);
      const form = kind.type === 'duration' ? DURATION_FORM : SIZE_FORM;
      const unlimited = kind.unlimited === true ? ' (or -1 for no limit)' : '';
      if (parsed === undefined) return fail(spec, `${form}${unlimited}`, raw);
      if (kind.unlimited === true && parsed === -1) return ok(-1);
      return inRange(
        spec,
        parsed,
        kind.min,
        kind.max,
        `${kind.type === 'duration' ? 'a duration' : 'a size'}`,
        raw,
      );
    }
    case 'port': {
      const n = typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
        return fail(spec, 'a port number from 0 to 65535', raw);
      }
      return ok(n);
    }
    case 'hostport': {
      if (typeof raw !== 'string' || parseHostPort(raw) === undefined) {
        return fail(spec, "host:port, like '0.0.0.0:9092' or '[::1]:9092'", raw);
      }
      return ok(raw);
    }
  }
}

/** `'127.0.0.1:9092'` -> `{ host: '127.0.0.1', port: 9092 }`; IPv6 hosts in brackets. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: match[1] ?? match[2] ?? '', port };
}

function inRange(
  spec: KeySpec,
  n: number,
  min: number | undefined,
  max: number | undefined,
  form: string,
  raw: unknown,
): Coerced {
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
    return fail(spec, `${form}${rangeText(min, max)}`, raw);
  }
  return ok(n);
}

function rangeText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  if (min !== undefined) return ` >= ${min}`;
  if (max !== undefined) return ` <= ${max}`;
  return '';
}

function ok(value: ConfigValue): Coerced {
  return { ok: true, value };
}

function fail(spec: KeySpec, expected: string, raw: unknown): Coerced {
  // A secret's value never goes into a message: messages are printed and logged.
  const got = spec.secret === true ? 'a value not shown here (secret)' : describe(raw);
  return { ok: false, problem: `${spec.key}: expected ${expected}, got ${got}` };
}

/** `name=value[,name=value...]` (already matched against HEADER_LIST) as a map; names and values trimmed. */
export function parseHeaderList(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of text.split(',')) {
    const i = item.indexOf('=');
    out[item.slice(0, i).trim()] = item.slice(i + 1).trim();
  }
  return out;
}

export function describe(raw: unknown): string {
  if (typeof raw === 'string') return `'${raw}'`;
  if (raw === null || raw === undefined) return 'nothing';
  if (Array.isArray(raw)) return 'a list';
  if (typeof raw === 'object') return 'a mapping';
  return String(raw);
}
