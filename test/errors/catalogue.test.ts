import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  codeFromWire,
  ERRORS,
  type ErrorCode,
  isRetriable,
  StreamBusError,
  toStreamBusError,
} from '../../src/errors/index.js';
import { normalizeMarkdown, readGeneratedDoc } from '../config/generated-doc.js';
import { renderErrorsDoc } from './render-errors-doc.js';

const docPath = fileURLToPath(new URL('../../docs/errors.md', import.meta.url));
const codes = Object.keys(ERRORS) as ErrorCode[];

describe('error catalogue', () => {
  it('docs/errors.md is in step with the catalogue (regenerate: UPDATE_DOCS=1 npx vitest run test/errors)', () => {
    const expected = renderErrorsDoc();
    expect(normalizeMarkdown(readGeneratedDoc(docPath, expected))).toBe(normalizeMarkdown(expected));
  });

  it('gives every code a unique wire code', () => {
    const wires = codes.map((c) => ERRORS[c].wireCode);
    expect(new Set(wires).size).toBe(wires.length);
    for (const w of wires) expect(Number.isInteger(w) && w > 0).toBe(true);
  });

  it('gives every code a valid category and a message', () => {
    for (const code of codes) {
      expect(['retriable', 'transient', 'fatal', 'invalid_input']).toContain(ERRORS[code].category);
      expect(ERRORS[code].message.length).toBeGreaterThan(0);
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
    }
  });

  it('round-trips every code through its wire code, and maps unknown wire codes to UNKNOWN_SERVER_ERROR', () => {
    for (const code of codes) expect(codeFromWire(ERRORS[code].wireCode)).toBe(code);
    expect(codeFromWire(99_999)).toBe('UNKNOWN_SERVER_ERROR');
  });

  it('classifies the retry-relevant codes as DESIGN.md section 4 says', () => {
    for (const code of [
      'NOT_LEADER',
      'LEADER_NOT_AVAILABLE',
      'REQUEST_TIMED_OUT',
      'NOT_ENOUGH_REPLICAS',
    ] as const) {
      expect(ERRORS[code].category).toBe('retriable');
    }
    for (const code of [
      'UNKNOWN_TOPIC_OR_PARTITION',
      'CORRUPT_BATCH',
      'BATCH_TOO_LARGE',
      'FRAME_TOO_LARGE',
    ] as const) {
      expect(isRetriable(new StreamBusError(code))).toBe(false);
    }
  });

  it('maps Node system errors: ENOSPC -> DISK_FULL, ECONNRESET -> NETWORK_ERROR, others -> UNKNOWN', () => {
    const sys = (code: string) => Object.assign(new Error(`${code} happened`), { code });
    const full = toStreamBusError(sys('ENOSPC'), 'segment.append');
    expect(full).toMatchObject({ code: 'DISK_FULL', category: 'transient', operation: 'segment.append' });
    expect(full.message).toBe('ENOSPC happened');
    expect((full.cause as Error).message).toBe('ENOSPC happened');
    expect(toStreamBusError(sys('ECONNRESET')).code).toBe('NETWORK_ERROR');
    expect(toStreamBusError(sys('EIO')).code).toBe('STORAGE_ERROR');
    expect(toStreamBusError(new Error('weird')).code).toBe('UNKNOWN_SERVER_ERROR');
    expect(toStreamBusError('a string').code).toBe('UNKNOWN_SERVER_ERROR');
    const original = new StreamBusError('NOT_LEADER');
    expect(toStreamBusError(original)).toBe(original);
  });

  it('StreamBusError carries code, category, wire code, operation, metadata and timestamp', () => {
    const err = new StreamBusError('NOT_LEADER', {
      operation: 'produce',
      metadata: { leader: 2 },
      timestampMs: 123,
    });
    expect(err.toJSON()).toEqual({
      code: 'NOT_LEADER',
      category: 'retriable',
      message: 'this node is not the leader',
      operation: 'produce',
      metadata: { leader: 2 },
    });
    expect(err.wireCode).toBe(300);
    expect(err.timestampMs).toBe(123);
  });
});
