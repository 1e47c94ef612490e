/**
 * Which quotas a client id gets (client-quota-limits.ts): per key, its own override, then the default of
 * every client id, then the broker config; the cached lookup follows runtime changes.
 */
import { describe, expect, it } from 'vitest';
import { ClientQuotaLimits, clientQuotaEntries } from '../../src/broker/client-quota-limits.js';
import { ClientQuotas } from '../../src/broker/client-quotas.js';
import {
  type ClientQuotaOverrides,
  mergeClientQuotas,
  NO_CLIENT_QUOTA_OVERRIDES,
} from '../../src/metadata/client-quota-rules.js';

const BROKER = { producerByteRate: 100, consumerByteRate: -1, requestPercentage: -1 };

function overrides(...changes: [string, Record<string, string>][]): ClientQuotaOverrides {
  return changes.reduce((o, [id, set]) => mergeClientQuotas(o, id, set, []), NO_CLIENT_QUOTA_OVERRIDES);
}

describe('client quota precedence', () => {
  it("per key: the client id's override, else the client default, else the broker config", () => {
    const o = overrides(
      ['app', { producer_byte_rate: '1000', request_percentage: '2.5' }],
      ['', { producer_byte_rate: '500', consumer_byte_rate: '700', request_percentage: '10' }],
    );
    const limits = new ClientQuotaLimits(BROKER, () => o);
    expect(limits.limitsFor('app')).toEqual({
      producerByteRate: 1000,
      consumerByteRate: 700,
      requestPercentage: 2.5,
    });
    expect(limits.limitsFor('other')).toEqual({
      producerByteRate: 500,
      consumerByteRate: 700,
      requestPercentage: 10,
    });
    const onlyOwn = new ClientQuotaLimits(BROKER, () => overrides(['app', { consumer_byte_rate: '9' }]));
    expect(onlyOwn.limitsFor('app')).toEqual({
      producerByteRate: 100,
      consumerByteRate: 9,
      requestPercentage: -1,
    });
    expect(onlyOwn.limitsFor('other')).toEqual(BROKER);
  });

  it('describe names each source; the default resource shows its own values as client-default', () => {
    const o = overrides(['app', { producer_byte_rate: '1000' }], ['', { consumer_byte_rate: '700' }]);
    expect(clientQuotaEntries(BROKER, o, 'app')).toEqual([
      { key: 'consumer_byte_rate', value: '700', source: 'client-default' },
      { key: 'producer_byte_rate', value: '1000', source: 'client' },
      { key: 'request_percentage', value: '-1', source: 'default' },
    ]);
    expect(clientQuotaEntries(BROKER, o, '')).toEqual([
      { key: 'consumer_byte_rate', value: '700', source: 'client-default' },
      { key: 'producer_byte_rate', value: '100', source: 'default' },
      { key: 'request_percentage', value: '-1', source: 'default' },
    ]);
  });

  it('an override of -1 exempts its client id from the client default; deleting it falls back to the default', () => {
    let current = overrides(['', { producer_byte_rate: '500' }], ['exempt', { producer_byte_rate: '-1' }]);
    const limits = new ClientQuotaLimits(BROKER, () => current);
    expect(limits.limitsFor('exempt')).toEqual({
      producerByteRate: -1,
      consumerByteRate: -1,
      requestPercentage: -1,
    });
    expect(limits.limitsFor('other').producerByteRate).toBe(500);
    expect(limits.describe('exempt')).toContainEqual({
      key: 'producer_byte_rate',
      value: '-1',
      source: 'client',
    });
    const q = new ClientQuotas(limits, { nowMs: () => 1_000_000 });
    expect(q.record('exempt', 'produce', 1_000_000)).toBe(0);
    expect(q.record('other', 'produce', 1_000_000)).toBeGreaterThan(0);
    current = mergeClientQuotas(current, 'exempt', {}, ['producer_byte_rate']);
    expect(limits.limitsFor('exempt').producerByteRate).toBe(500);
    expect(limits.describe('exempt')).toContainEqual({
      key: 'producer_byte_rate',
      value: '500',
      source: 'client-default',
    });
  });

  it('a client default of -1 lifts the broker config for every client id without an override of its own', () => {
    const limits = new ClientQuotaLimits(BROKER, () =>
      overrides(['', { producer_byte_rate: '-1' }], ['app', { producer_byte_rate: '10' }]),
    );
    expect(limits.limitsFor('other').producerByteRate).toBe(-1);
    expect(limits.limitsFor('app').producerByteRate).toBe(10);
  });

  it('only unlimited overrides over an unlimited broker config limit nobody: bytes are not counted', () => {
    const unlimited = { producerByteRate: -1, consumerByteRate: -1, requestPercentage: -1 };
    let current = overrides(['exempt', { producer_byte_rate: '-1', consumer_byte_rate: '-1' }]);
    const limits = new ClientQuotaLimits(unlimited, () => current);
    expect(limits.enabled).toBe(false);
    current = mergeClientQuotas(current, 'slow', { consumer_byte_rate: '10' }, []);
    expect(limits.enabled).toBe(true);
  });

  it('the cached answer follows a change of the overrides, and quotas turn on and off with them', () => {
    let current = NO_CLIENT_QUOTA_OVERRIDES;
    const limits = new ClientQuotaLimits(
      { producerByteRate: -1, consumerByteRate: -1, requestPercentage: -1 },
      () => current,
    );
    expect(limits.enabled).toBe(false);
    expect(limits.limitsFor('app').producerByteRate).toBe(-1);
    current = overrides(['app', { producer_byte_rate: '10' }]);
    expect(limits.enabled).toBe(true);
    expect(limits.limitsFor('app').producerByteRate).toBe(10);
    current = NO_CLIENT_QUOTA_OVERRIDES;
    expect(limits.enabled).toBe(false);
    expect(limits.limitsFor('app').producerByteRate).toBe(-1);
  });

  it('the meter throttles the client id with an override and not another', () => {
    const now = 1_000_000;
    const limits = new ClientQuotaLimits(
      { producerByteRate: -1, consumerByteRate: -1, requestPercentage: -1 },
      () => overrides(['slow', { producer_byte_rate: '1000' }]),
    );
    const q = new ClientQuotas(limits, { nowMs: () => now });
    expect(q.record('slow', 'produce', 1_000_000)).toBeGreaterThan(0);
    expect(q.record('fast', 'produce', 1_000_000)).toBe(0);
  });
});
