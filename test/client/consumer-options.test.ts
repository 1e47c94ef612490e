/**
 * Consumer options that cannot work are refused when the consumer is made, naming the option and what it may
 * be (QA: autoOffsetReset 'earlist' quietly read as latest; maxWaitMs -1 failed only at poll() as the
 * broker's INVALID_REQUEST). Group options likewise.
 */
import { describe, expect, it } from 'vitest';
import { GROUP_DEFAULTS } from '../../src/client/consumer-group.js';
import { CONSUMER_DEFAULTS, consumerSettings, groupSettings } from '../../src/client/consumer-options.js';
import { createClient } from '../../src/index.js';

const invalid = (name: string, allowed: string) =>
  expect.objectContaining({
    code: 'INVALID_CONFIG',
    message: expect.stringMatching(new RegExp(`option ${name} must be .*${allowed}`)),
  });

describe('consumer options', () => {
  it('unset options take their defaults; Infinity retries (the default) is accepted', () => {
    expect(consumerSettings({})).toEqual(CONSUMER_DEFAULTS);
    expect(consumerSettings({ maxWaitMs: 0, retries: 3, autoOffsetReset: 'none' })).toMatchObject({
      maxWaitMs: 0,
      retries: 3,
      autoOffsetReset: 'none',
    });
  });

  it('an unknown autoOffsetReset is INVALID_CONFIG listing the allowed values', () => {
    expect(() => consumerSettings({ autoOffsetReset: 'earlist' as never })).toThrowError(
      invalid('autoOffsetReset', '"earliest", "latest", "none", got "earlist"'),
    );
  });

  it.each([
    ['maxWaitMs', -1],
    ['maxWaitMs', 1.5],
    ['minBytes', -1],
    ['maxBytes', 0],
    ['partitionMaxBytes', 0],
    ['decompressedBytesMax', 0],
    ['requestTimeoutMs', 0],
    ['retries', -1],
    ['retryBackoffMs', Number.NaN],
    ['retryBackoffMaxMs', '100'],
  ])('%s = %s is INVALID_CONFIG naming the option and its least value', (name, value) => {
    expect(() => consumerSettings({ [name]: value })).toThrowError(invalid(name, 'an integer >= '));
  });

  it('clientRack must be a string ("" for none, the default)', () => {
    expect(consumerSettings({}).clientRack).toBe('');
    expect(consumerSettings({ clientRack: 'eu-west-1a' }).clientRack).toBe('eu-west-1a');
    expect(() => consumerSettings({ clientRack: 7 as never })).toThrowError(
      invalid('clientRack', 'a string, got 7'),
    );
  });

  it('prefetch must be a boolean', () => {
    expect(() => consumerSettings({ prefetch: 'yes' as never })).toThrowError(
      invalid('prefetch', 'true, false'),
    );
  });

  it('client.consumer() refuses them at once, before any poll()', async () => {
    // Never connected to: the refusal needs no broker.
    const client = createClient({ bootstrap: '127.0.2.1:9' });
    expect(() => client.consumer({ autoOffsetReset: 'earlist' as never })).toThrowError(
      invalid('autoOffsetReset', 'earliest'),
    );
    expect(() => client.consumer({ maxWaitMs: -1 })).toThrowError(invalid('maxWaitMs', '>= 0'));
    expect(() => client.consumer({ group: { groupId: 'g', sessionTimeoutMs: 0 } })).toThrowError(
      invalid('sessionTimeoutMs', '>= 1'),
    );
    await client.close();
  });
});

describe('consumer group options', () => {
  it('unset options take their defaults', () => {
    expect(groupSettings({ groupId: 'g' })).toEqual({
      ...GROUP_DEFAULTS,
      groupId: 'g',
      groupInstanceId: null,
    });
  });

  it.each([
    ['groupId', '', 'a non-empty string'],
    ['groupInstanceId', '', 'a non-empty string or null'],
    ['sessionTimeoutMs', -5, 'an integer >= 1'],
    ['heartbeatIntervalMs', 0, 'an integer >= 1'],
    ['rebalanceTimeoutMs', 2.5, 'an integer >= 1'],
    ['autoCommitIntervalMs', 0, 'an integer >= 1'],
    ['autoCommit', 'false', 'one of true, false'],
    ['assignors', [], 'a non-empty list of cooperative-sticky, range, roundrobin'],
    ['assignors', ['sticky'], 'a non-empty list of cooperative-sticky, range, roundrobin'],
  ])('%s = %j is INVALID_CONFIG saying what it may be', (name, value, allowed) => {
    expect(() => groupSettings({ groupId: 'g', [name]: value })).toThrowError(invalid(name, allowed));
  });

  it('heartbeatIntervalMs must be below sessionTimeoutMs', () => {
    expect(() =>
      groupSettings({ groupId: 'g', sessionTimeoutMs: 3000, heartbeatIntervalMs: 3000 }),
    ).toThrowError(invalid('heartbeatIntervalMs', 'below sessionTimeoutMs \\(3000\\)'));
  });
});
