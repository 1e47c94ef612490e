/**
 * `consume --partition P --offset N` with N outside the partition: the consumer starts over per its reset
 * policy, as Kafka's console consumer does with auto.offset.reset (the end; the beginning with
 * --from-beginning), and says so on stderr instead of waiting without a word. stdout stays data only.
 */
import { describe, expect, test } from 'vitest';
import { outOfRangeNotice } from '../../cmd/commands/consume.js';
import { cliBroker } from '../helpers/cli-broker.js';

const { cli } = cliBroker();

describe('consume --offset outside the partition', () => {
  test('past the high watermark: a notice on stderr, then it waits at the end (nothing printed)', async () => {
    await cli(['topic', 'create', 'short', '--partitions', '1']);
    const produced = await cli(['produce', 'short'], { input: 'a\nb\nc\n' });
    expect(produced.stderr).toContain('3 message(s) acknowledged');
    const r = await cli([
      'consume',
      'short',
      '--partition',
      '0',
      '--offset',
      '999999',
      '--timeout-ms',
      '500',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      'offset 999999 is past the end of short-0 (high watermark 3); starting at the end instead; waiting for new messages',
    );
  });

  test('with --from-beginning it starts at the beginning, and says so', async () => {
    const r = await cli([
      'consume',
      'short',
      '--partition',
      '0',
      '--offset',
      '999999',
      '--from-beginning',
      '--max-messages',
      '3',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('a\nb\nc\n');
    expect(r.stderr).toContain('starting at the beginning (offset 0) instead, as --from-beginning asks');
  });

  test('an offset in range prints no notice', async () => {
    const r = await cli(['consume', 'short', '--partition', '0', '--offset', '3', '--timeout-ms', '300']);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', '0 message(s) consumed\n']);
  });

  test('an offset before the log start is named as such', () => {
    const range = { logStartOffset: 10, highWatermark: 50 };
    expect(outOfRangeNotice({ topic: 't', partition: 2 }, 3, range, 'latest')).toBe(
      'offset 3 is before the start of t-2 (log start offset 10); starting at the end instead; waiting for new messages',
    );
    expect(outOfRangeNotice({ topic: 't', partition: 2 }, 50, range, 'latest')).toBeUndefined();
    expect(outOfRangeNotice({ topic: 't', partition: 2 }, 10, range, 'earliest')).toBeUndefined();
  });
});
