import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeCommand, type MetadataCommand } from '../../src/metadata/commands.js';
import { FEATURE } from '../../src/metadata/feature-levels.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/metadata/snapshot.js';
import type { MetadataState } from '../../src/metadata/state.js';
import { codeOf, expectOk, finalizedAt } from './fixtures.js';

function alter(clientId: string, set: Record<string, string>, del: string[] = []): MetadataCommand {
  return { type: 'alterClientQuotas', clientId, set, delete: del };
}

/** A rejected command leaves the image, version included, byte for byte as it was. */
function expectRefused(s: MetadataState, c: MetadataCommand, code: string, message?: RegExp): void {
  const before = Buffer.from(encodeSnapshot(s, 0)).toString('hex');
  const r = s.apply(c);
  expect(codeOf(r)).toBe(code);
  if (message !== undefined && !r.ok) expect(r.message).toMatch(message);
  expect(Buffer.from(encodeSnapshot(s, 0)).toString('hex')).toBe(before);
}

const quotasOf = (s: MetadataState) => Object.fromEntries(s.view().clientQuotas);

describe('alterClientQuotas (per-client-id quota overrides)', () => {
  it('is refused below the client-quotas feature level (an older replica cannot decode it)', () => {
    const s = finalizedAt(3, FEATURE.partitionReassignment);
    expectRefused(s, alter('app', { producer_byte_rate: '1000' }), 'FEATURE_NOT_FINALIZED', /level 6/);
  });

  it("sets a client id's keys and the default (''), keeps keys not named, and deletes back to nothing", () => {
    const s = finalizedAt(3, FEATURE.clientQuotas);
    expectOk(s.apply(alter('app', { producer_byte_rate: '1000' })));
    expectOk(s.apply(alter('app', { consumer_byte_rate: '2000' })));
    expectOk(s.apply(alter('', { producer_byte_rate: '500' })));
    expect(quotasOf(s)).toEqual({
      '': { producer_byte_rate: '500' },
      app: { consumer_byte_rate: '2000', producer_byte_rate: '1000' },
    });
    expectOk(s.apply(alter('app', {}, ['producer_byte_rate', 'consumer_byte_rate'])));
    expect(quotasOf(s)).toEqual({ '': { producer_byte_rate: '500' } });
  });

  it('a change that alters nothing is not a new version, and the view keeps the same overrides object', () => {
    const s = finalizedAt(3, FEATURE.clientQuotas);
    expectOk(s.apply(alter('app', { producer_byte_rate: '1000' })));
    const version = s.version;
    const before = s.view().clientQuotas;
    expectOk(s.apply(alter('app', { producer_byte_rate: '1000' })));
    expectOk(s.apply(alter('nobody', {}, ['consumer_byte_rate'])));
    expect(s.version).toBe(version);
    expect(s.view().clientQuotas).toBe(before);
  });

  it('a retried request (same id) applies once', () => {
    const s = finalizedAt(3, FEATURE.clientQuotas);
    expectOk(s.apply(alter('app', { producer_byte_rate: '1000' }), 'req-1'));
    const version = s.version;
    expectOk(s.apply(alter('app', { producer_byte_rate: '1000' }), 'req-1'));
    expect(s.version).toBe(version);
  });

  it('refuses unknown keys, byte rates that are not positive whole numbers, percentages out of 0.01..100, and over-long client ids', () => {
    const s = finalizedAt(3, FEATURE.clientQuotaExtensions);
    expectRefused(
      s,
      alter('app', { io_thread_percentage: '50' }),
      'INVALID_CONFIG',
      /unknown client quota key/,
    );
    for (const bad of ['0', '-2', '-01', '1.5', 'fast', '', '99999999999999999']) {
      expectRefused(s, alter('app', { producer_byte_rate: bad }), 'INVALID_CONFIG');
    }
    for (const bad of ['0', '0.001', '100.01', '101', '-2', '1e1', '.5', '5.', 'half', '']) {
      expectRefused(s, alter('app', { request_percentage: bad }), 'INVALID_CONFIG', /request_percentage/);
    }
    for (const good of ['0.01', '2.5', '100', '-1'])
      expectOk(s.apply(alter('app', { request_percentage: good })));
    expectRefused(s, alter('x'.repeat(256), { producer_byte_rate: '1' }), 'INVALID_CONFIG');
    expectRefused(s, alter('app', {}, ['retention_ms']), 'INVALID_CONFIG');
  });

  it('an unlimited (-1) or request_percentage override is refused at level 6 (a level-6 replica refuses the value) and taken from level 7', () => {
    const s = finalizedAt(3, FEATURE.clientQuotas);
    expectRefused(s, alter('app', { producer_byte_rate: '-1' }), 'FEATURE_NOT_FINALIZED', /level 7/);
    expectRefused(s, alter('app', { request_percentage: '50' }), 'FEATURE_NOT_FINALIZED', /level 7/);
    expectOk(s.apply(alter('app', { producer_byte_rate: '1000' })));
    const upgraded = finalizedAt(3, FEATURE.clientQuotaExtensions);
    expectOk(upgraded.apply(alter('app', { producer_byte_rate: '-1', request_percentage: '50' })));
  });

  it('-1 is an override of its own (unlimited), kept until deleted', () => {
    const s = finalizedAt(3, FEATURE.clientQuotaExtensions);
    expectOk(s.apply(alter('', { producer_byte_rate: '500' })));
    expectOk(s.apply(alter('exempt', { producer_byte_rate: '-1' })));
    expect(quotasOf(s)).toEqual({ '': { producer_byte_rate: '500' }, exempt: { producer_byte_rate: '-1' } });
    expect(quotasOf(decodeSnapshot(encodeSnapshot(s, 9)).state)).toEqual(quotasOf(s));
    expectOk(s.apply(alter('exempt', {}, ['producer_byte_rate'])));
    expect(quotasOf(s)).toEqual({ '': { producer_byte_rate: '500' } });
  });

  it('a client id may be any string, __proto__ included', () => {
    const s = finalizedAt(1, FEATURE.clientQuotas);
    expectOk(s.apply(alter('__proto__', { producer_byte_rate: '7' })));
    expect(s.view().clientQuotas.get('__proto__')).toEqual({ producer_byte_rate: '7' });
  });

  it('the command survives encode and decode', () => {
    const c = alter('app', { producer_byte_rate: '1000' }, ['consumer_byte_rate']);
    expect(decodeCommand(encodeCommand(c, 'r')).command).toEqual(c);
  });

  it('the overrides survive a snapshot, and a snapshot without them (an older one) reads as none', () => {
    const s = finalizedAt(3, FEATURE.clientQuotas);
    expectOk(s.apply(alter('app', { producer_byte_rate: '1000' })));
    expectOk(s.apply(alter('', { consumer_byte_rate: '3000' })));
    const restored = decodeSnapshot(encodeSnapshot(s, 9)).state;
    expect(quotasOf(restored)).toEqual(quotasOf(s));
    expect(Buffer.from(encodeSnapshot(restored, 9))).toEqual(Buffer.from(encodeSnapshot(s, 9)));

    const none = finalizedAt(3, FEATURE.clientQuotas);
    expect(decodeSnapshot(encodeSnapshot(none, 1)).state.view().clientQuotas.size).toBe(0);
  });
});
