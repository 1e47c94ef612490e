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

const BROKER = { producerByteRate: 100, consumerByteRate: -1 };

function overrides(...changes: [string, Record<string, string>][]): ClientQuotaOverrides {
  return changes.reduce((o, [id, set]) => mergeClientQuotas(o, id, set, []), NO_CLIENT_QUOTA_OVERRIDES);
}

describe('client quota precedence', () => {
  it("per key: the client id's override, else the client default, else the broker config", () => {
    const o = overrides(
      ['app', { producer_byte_rate: '1000' }],
      ['', { producer_byte_rate: '500', consumer_byte_rate: '700' }],
    );
    const limits = new ClientQuotaLimits(BROKER, () => o);
    expect(limits.limitsFor('app')).toEqual({ producerByteRate: 1000, consumerByteRate: 700 });
    expect(limits.limitsFor('other')).toEqual({ producerByteRate: 500, consumerByteRate: 700 });
    const onlyOwn = new ClientQuotaLimits(BROKER, () => overrides(['app', { consumer_byte_rate: '9' }]));
    expect(onlyOwn.limitsFor('app')).toEqual({ producerByteRate: 100, consumerByteRate: 9 });
    expect(onlyOwn.limitsFor('other')).toEqual(BROKER);
  });

  it('describe names each source; the default resource shows its own values as client-default', () => {
    const o = overrides(['app', { producer_byte_rate: '1000' }], ['', { consumer_byte_rate: '700' }]);
    expect(clientQuotaEntries(BROKER, o, 'app')).toEqual([
      { key: 'consumer_byte_rate', value: '700', source: 'client-default' },
      { key: 'producer_byte_rate', value: '1000', source: 'client' },
    ]);
    expect(clientQuotaEntries(BROKER, o, '')).toEqual([
      { key: 'consumer_byte_rate', value: '700', source: 'client-default' },
      { key: 'producer_byte_rate', value: '100', source: 'default' },
    ]);
  });

  it('the cached answer follows a change of the overrides, and quotas turn on and off with them', () => {
    let current = NO_CLIENT_QUOTA_OVERRIDES;
    const limits = new ClientQuotaLimits({ producerByteRate: -1, consumerByteRate: -1 }, () => current);
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
    const limits = new ClientQuotaLimits({ producerByteRate: -1, consumerByteRate: -1 }, () =>
      overrides(['slow', { producer_byte_rate: '1000' }]),
    );
    const q = new ClientQuotas(limits, { nowMs: () => now });
    expect(q.record('slow', 'produce', 1_000_000)).toBeGreaterThan(0);
    expect(q.record('fast', 'produce', 1_000_000)).toBe(0);
  });
});
