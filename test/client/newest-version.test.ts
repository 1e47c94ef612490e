/** The SDK asks the newest version of an API and steps down on UNSUPPORTED_VERSION (a rolling upgrade). */
import { describe, expect, it } from 'vitest';
import { atNewestVersion } from '../../src/client/newest-version.js';
import { StreamBusError } from '../../src/errors/index.js';

/** A broker that answers versions up to `highest` and refuses newer ones as a build before them does. */
function brokerUpTo(highest: number, asked: number[]) {
  return async (version: number): Promise<string> => {
    asked.push(version);
    if (version > highest) throw new StreamBusError('UNSUPPORTED_VERSION', { operation: 'test' });
    return `v${version}`;
  };
}

describe('atNewestVersion', () => {
  it('steps down one version at a time to the newest the broker has, not straight to v0', async () => {
    const asked: number[] = [];
    expect(await atNewestVersion(2, brokerUpTo(1, asked))).toBe('v1');
    expect(asked).toEqual([2, 1]);
    expect(await atNewestVersion(2, brokerUpTo(2, []))).toBe('v2');
    expect(await atNewestVersion(2, brokerUpTo(0, []))).toBe('v0');
  });

  it('passes any other error on at once', async () => {
    const asked: number[] = [];
    const send = async (version: number): Promise<string> => {
      asked.push(version);
      throw new StreamBusError('REQUEST_TIMED_OUT', { operation: 'test' });
    };
    await expect(atNewestVersion(2, send)).rejects.toMatchObject({ code: 'REQUEST_TIMED_OUT' });
    expect(asked).toEqual([2]);
  });
});
