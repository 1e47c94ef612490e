import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cleanup } from '../../chaos/harness/cleanup.js';
import { FileHistory, parseValue, readHistory, seqValue } from '../../chaos/harness/history.js';

describe('history file', () => {
  it('reads back every appended event, in order, once closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaos-history-'));
    try {
      const h = new FileHistory(join(dir, 'history.jsonl'), 2);
      h.append({ t: 1, type: 'send', producer: 'p0', seq: 0, partition: 0 });
      h.append({ t: 2, type: 'ack', producer: 'p0', seq: 0, partition: 0, offset: 7 });
      h.append({ t: 3, type: 'phase', name: 'workload-stop' });
      await h.close();
      expect(readHistory(h.path)).toEqual(h.events);
      expect(h.events).toHaveLength(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('round-trips producer:seq values, producer ids containing colons included', () => {
    expect(parseValue(seqValue('p3', 41))).toEqual({ producer: 'p3', seq: 41 });
    expect(parseValue(seqValue('a:b', 0))).toEqual({ producer: 'a:b', seq: 0 });
    expect(parseValue('garbage')).toBeNull();
  });
});

describe('cleanup', () => {
  it('undoes steps in reverse order, once, even when one fails', async () => {
    const done: string[] = [];
    const c = new Cleanup();
    c.add({ name: 'a', run: async () => void done.push('a'), runSync: () => done.push('a-sync') });
    c.add({
      name: 'b',
      run: async () => {
        throw new Error('boom');
      },
      runSync: () => done.push('b-sync'),
    });
    c.add({ name: 'c', run: async () => void done.push('c'), runSync: () => done.push('c-sync') });
    await c.runAll();
    await c.runAll();
    expect(done).toEqual(['c', 'b-sync', 'a']);
  });

  it('runs the synchronous versions when the process is dying', () => {
    const done: string[] = [];
    const c = new Cleanup();
    c.add({ name: 'a', run: async () => {}, runSync: () => done.push('a') });
    const remove = c.add({ name: 'b', run: async () => {}, runSync: () => done.push('b') });
    remove();
    c.runAllSync();
    expect(done).toEqual(['a']);
  });
});
