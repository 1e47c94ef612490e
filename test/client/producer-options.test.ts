/**
 * Producer options that cannot work are refused when the producer is made, naming the option (QA: the SDK
 * took lingerMs: -1, and a CLI that passed it on hung against an unreachable broker).
 */
import { describe, expect, it } from 'vitest';
import { PRODUCER_DEFAULTS, producerSettings } from '../../src/client/producer-options.js';

describe('producer options', () => {
  it('unset options take their defaults; Infinity retries (the default) is accepted', () => {
    expect(producerSettings({})).toEqual(PRODUCER_DEFAULTS);
    expect(producerSettings({ lingerMs: 0, retries: 3 })).toMatchObject({ lingerMs: 0, retries: 3 });
  });

  it.each([
    ['lingerMs', -1],
    ['lingerMs', 2.5],
    ['batchBytes', 0],
    ['bufferBytesMax', 0],
    ['maxRequestBytes', -5],
    ['maxInFlightRequests', 0],
    ['retries', -1],
    ['deliveryTimeoutMs', 0],
    ['retryBackoffMs', Number.NaN],
    ['ackTimeoutMs', Number.POSITIVE_INFINITY],
  ])('%s = %s is INVALID_CONFIG naming the option', (name, value) => {
    expect(() => producerSettings({ [name]: value })).toThrowError(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining(`option ${name}`) }),
    );
  });

  it('acks other than 0, 1, -1 is INVALID_ACKS; an unknown compression names the choices', () => {
    expect(() => producerSettings({ acks: 2 as never })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ACKS' }),
    );
    expect(() => producerSettings({ compression: 'lzma' as never })).toThrow(
      /compression "lzma" is not supported/,
    );
  });
});
