import { copyFile, cp, open as openFile, readdir, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeConfEntry } from '../../src/raft/core/quorum.js';
import type { Entry } from '../../src/raft/core/types.js';
import { Bulkhead } from '../../src/resilience/bulkhead.js';
import { encodePartitionSnapshot } from '../../src/storage/partition-store.js';
import { HARD_STATE_FILE, SNAPSHOT_FILE } from '../../src/storage/raft-files.js';
import { HARD_STATE_COMMIT_WRITE_INTERVAL_MS, type ReplicatedLog } from '../../src/storage/replicated-log.js';
import { nodeStorageFs, type StorageFs } from '../../src/storage/storage-fs.js';
import { scratchDir } from '../helpers/scratch-dir.js';
import { TestFs } from './helpers.js';
import {
  batchesOf,
  clock,
  EntryMaker,
  entriesOf,
  openReplicated,
  readValues,
  sameEntry,
} from './replicated-log-helpers.js';

const voters = [1, 2, 3];

async function withLog<T>(log: ReplicatedLog, fn: (log: ReplicatedLog) => Promise<T>): Promise<T> {
  try {
    return await fn(log);
  } finally {
    await log.close();
  }
}

function logFiles(dir: string): Promise<string[]> {
  return readdir(dir).then((names) => names.filter((n) => n.endsWith('.log')).sort());
}

describe('ReplicatedLog round trip', () => {
  it('keeps entries, terms, hard state, snapshot, conf changes and offsets through close and open', async () => {
    const dir = scratchDir('rlog-');
    const m = new EntryMaker(0, 4);
    const written: Entry[] = [];
    let log = await openReplicated(dir, {}, { bootstrapVoters: voters });
    await withLog(log, async (log) => {
      expect(log.firstIndex()).toBe(1);
      expect(log.lastIndex()).toBe(3);
      expect(log.initialState().hardState).toEqual({ term: 1, vote: 0, commit: 3 });
      written.push(...(await entriesOf(log, 1, 4)));
      const more = [
        m.noop(2),
        m.data(2, ['a', 'b']),
        m.data(2, ['c']),
        m.conf(2, 'cc'),
        m.data(3, ['d', 'e', 'f']),
      ];
      await log.save({ entries: more, hardState: { term: 3, vote: 2, commit: 7 } }, true);
      written.push(...more);
      await log.saveSnapshot(
        {
          metadata: { index: 6, term: 2, confState: { voters, learners: [] } },
          data: encodePartitionSnapshot(3, Buffer.from('sm')),
        },
        6,
      );
      // saveSnapshot never deletes log data.
      expect(log.firstIndex()).toBe(1);
    });
    log = await openReplicated(dir);
    await withLog(log, async (log) => {
      expect(log.firstIndex()).toBe(1);
      expect(log.lastIndex()).toBe(8);
      expect(log.term(0)).toBe(0);
      expect([1, 2, 3, 4, 5, 6, 7, 8].map((i) => log.term(i))).toEqual([1, 1, 1, 2, 2, 2, 2, 3]);
      expect(log.initialState().hardState).toEqual({ term: 3, vote: 2, commit: 7 });
      expect(log.snapshot().metadata).toEqual({ index: 6, term: 2, confState: { voters, learners: [] } });
      // Everything above the snapshot index is cached on open.
      expect(log.entries(7, 9, 1 << 20)).not.toBe('unavailable');
      const back = await entriesOf(log, 1, 9);
      expect(back.length).toBe(written.length);
      for (let k = 0; k < back.length; k++) expect(sameEntry(back[k]!, written[k]!)).toBe(true);
      expect(decodeConfEntry(back[0]!.data)).toEqual({
        kind: 'simple',
        change: { type: 'add-voter', nodeId: 1 },
      });
      expect(back[3]!.data.byteLength).toBe(0);
      // Control entries consume no offsets: 6 records in total.
      expect(log.logStartOffset()).toBe(0);
      expect(log.logEndOffset()).toBe(6);
      expect(await readValues(log)).toEqual(
        ['a', 'b', 'c', 'd', 'e', 'f'].map((value, offset) => ({ offset, value })),
      );
    });
  });

  it('stamps base offsets from the stored prefix, whatever the proposer stamped', async () => {
    const dir = scratchDir('rlog-');
    await withLog(await openReplicated(dir), async (log) => {
      const m = new EntryMaker(1000, 1);
      await log.save({ entries: [m.data(1, ['x', 'y']), m.data(1, ['z'])] }, true);
      expect(log.logEndOffset()).toBe(3);
      expect(await readValues(log)).toEqual([
        { offset: 0, value: 'x' },
        { offset: 1, value: 'y' },
        { offset: 2, value: 'z' },
      ]);
    });
  });
});

describe('ReplicatedLog truncation', () => {
  it('replaces a conflicting suffix in the middle of a segment and across segment rolls', async () => {
    const dir = scratchDir('rlog-');
    let log = await openReplicated(dir, { segmentBytes: 300 });
    const m = new EntryMaker();
    const first = Array.from({ length: 12 }, (_, k) => m.data(1, [`v${k}`]));
    await log.save({ entries: first }, true);
    expect((await logFiles(dir)).length).toBeGreaterThanOrEqual(3);
    // Mid segment: entry 11 of 12.
    const m2 = new EntryMaker(10, 11);
    await log.save({ entries: [m2.data(2, ['w10', 'w11']), m2.noop(2)] }, true);
    expect(log.lastIndex()).toBe(12);
    expect(log.term(10)).toBe(1);
    expect(log.term(11)).toBe(2);
    expect(log.logEndOffset()).toBe(12);
    // Across rolls: back to entry 3, dropping several whole segments.
    const m3 = new EntryMaker(2, 3);
    const replacement = [m3.data(3, ['x2']), m3.conf(3, 'conf'), m3.data(3, ['x3', 'x4'])];
    await log.save({ entries: replacement }, true);
    const expectValues = [
      { offset: 0, value: 'v0' },
      { offset: 1, value: 'v1' },
      { offset: 2, value: 'x2' },
      { offset: 3, value: 'x3' },
      { offset: 4, value: 'x4' },
    ];
    const check = async (log: ReplicatedLog) => {
      expect(log.lastIndex()).toBe(5);
      expect([1, 2, 3, 4, 5].map((i) => log.term(i))).toEqual([1, 1, 3, 3, 3]);
      expect(log.logEndOffset()).toBe(5);
      expect(await readValues(log)).toEqual(expectValues);
      const back = await entriesOf(log, 3, 6);
      for (let k = 0; k < 3; k++) expect(sameEntry(back[k]!, replacement[k]!)).toBe(true);
    };
    await check(log);
    // Appends continue after the truncation, with offsets following on.
    const m4 = new EntryMaker(5, 6);
    await log.save({ entries: [m4.data(3, ['y5'])] }, true);
    expect(log.logEndOffset()).toBe(6);
    await log.close();
    log = await openReplicated(dir, { segmentBytes: 300 });
    await withLog(log, async (log) => {
      expect(log.lastIndex()).toBe(6);
      expect((await readValues(log)).map((v) => v.value)).toEqual(['v0', 'v1', 'x2', 'x3', 'x4', 'y5']);
    });
  });
});

describe('ReplicatedLog client reads', () => {
  it('never returns a batch at or past endOffset, returns at least one batch, and interleaves control batches', async () => {
    const dir = scratchDir('rlog-');
    await withLog(await openReplicated(dir), async (log) => {
      const m = new EntryMaker();
      await log.save(
        {
          entries: [
            m.data(1, ['a', 'b']),
            m.noop(2),
            m.conf(2, 'c'),
            m.data(2, ['c']),
            m.data(2, ['d', 'e']),
          ],
        },
        true,
      );
      await log.save({ entries: [m.noop(3)] }, true);
      const all = batchesOf(await log.read(0, 1 << 20, 5));
      expect(all.map((b) => b.control)).toEqual([false, true, true, false, false]);
      // High watermark 3 cuts before the batch holding offsets 3..4, and drops trailing control batches.
      const upTo3 = batchesOf(await log.read(0, 1 << 20, 3));
      expect(upTo3.map((b) => [b.baseOffset, b.lastOffset, b.control])).toEqual([
        [0, 1, false],
        [2, 1, true],
        [2, 1, true],
        [2, 2, false],
      ]);
      for (const b of upTo3) expect(b.lastOffset).toBeLessThan(3);
      // At least one batch even when maxBytes is tiny; from the batch holding the fetch offset.
      expect(batchesOf(await log.read(1, 1, 5)).map((b) => b.baseOffset)).toEqual([0]);
      expect(batchesOf(await log.read(2, 1, 5)).map((b) => [b.baseOffset, b.control])).toEqual([[2, false]]);
      expect((await log.read(5, 1 << 20, 5)).length).toBe(0);
      await expect(log.read(6, 100, 5)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
      await expect(log.read(4, 100, 3)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    });
  });

  it('a fetch at the high watermark answers empty while the next batch is still being written into preallocated zeros', async () => {
    const dir = scratchDir('rlog-');
    // Writes wait at a gate while `held` is set; everything else goes to the real files.
    let held: Promise<void> | undefined;
    let writeWaiting: () => void = () => {};
    const fs: StorageFs = {
      ...nodeStorageFs,
      openFile: async (path, mode, options) => {
        const file = await nodeStorageFs.openFile(path, mode, options);
        return new Proxy(file, {
          get(target, prop) {
            if (prop === 'writev' || prop === 'writevCached') {
              return async (buffers: Buffer[], position: number) => {
                if (held !== undefined) {
                  writeWaiting();
                  await held;
                }
                return prop === 'writev'
                  ? target.writev(buffers, position)
                  : target.writevCached!(buffers, position);
              };
            }
            const value = Reflect.get(target, prop, target) as unknown;
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      },
    };
    await withLog(await openReplicated(dir, { indexIntervalBytes: 1 }, { fs }), async (log) => {
      const m = new EntryMaker();
      await log.save({ entries: [m.data(1, ['a', 'b'])] }, true);
      let release: () => void = () => {};
      held = new Promise<void>((r) => {
        release = r;
      });
      const waiting = new Promise<void>((r) => {
        writeWaiting = r;
      });
      const saving = log.save({ entries: [m.data(1, ['c', 'd'])] }, true);
      try {
        await waiting;
        // Offsets 0..1 are committed (high watermark 2); 2..3 are stamped and indexed, not on disk yet.
        expect((await log.read(2, 1 << 20, 2)).length).toBe(0);
        expect(batchesOf(await log.read(0, 1 << 20, 2)).map((b) => [b.baseOffset, b.lastOffset])).toEqual([
          [0, 1],
        ]);
      } finally {
        held = undefined;
        release();
      }
      await saving;
      expect((await readValues(log, 4)).map((r) => r.value)).toEqual(['a', 'b', 'c', 'd']);
    });
  });

  it('finds offsets by timestamp below endOffset only', async () => {
    const dir = scratchDir('rlog-');
    await withLog(await openReplicated(dir, { segmentBytes: 300 }), async (log) => {
      const m = new EntryMaker();
      await log.save(
        {
          entries: [
            m.data(1, ['a'], 1000),
            m.noop(1),
            m.data(1, ['b'], 2000),
            m.data(1, ['c', 'd'], 3000),
            m.data(1, ['e'], 4000),
          ],
        },
        true,
      );
      expect(await log.offsetForTimestamp(1500, 5)).toEqual({ offset: 1, timestamp: 2000 });
      expect(await log.offsetForTimestamp(2500, 5)).toEqual({ offset: 2, timestamp: 3000 });
      expect(await log.offsetForTimestamp(3500, 4)).toBeNull();
      expect(await log.offsetForTimestamp(5000, 5)).toBeNull();
    });
  });
});

describe('ReplicatedLog Raft reads', () => {
  it("answers 'unavailable' for evicted entries, loads them in the background, and keeps unapplied ones", async () => {
    const dir = scratchDir('rlog-');
    await withLog(
      await openReplicated(dir, { segmentBytes: 2000 }, { cacheBytes: 1, followerCacheBytes: 1 }),
      async (log) => {
        const m = new EntryMaker();
        const written = Array.from({ length: 60 }, (_, k) => m.data(1 + Math.floor(k / 20), [`v${k}`]));
        await log.save({ entries: written }, true);
        log.setAppliedIndex(40);
        // Above the applied index: always synchronous.
        const above = log.entries(41, 61, Number.MAX_SAFE_INTEGER);
        expect(Array.isArray(above) && above.length).toBe(20);
        // At or below: evicted from a 1-byte cache.
        expect(log.entries(5, 10, Number.MAX_SAFE_INTEGER)).toBe('unavailable');
        await log.loadsIdle();
        const loaded = log.entries(5, 10, Number.MAX_SAFE_INTEGER);
        expect(Array.isArray(loaded)).toBe(true);
        const got = loaded as Entry[];
        expect(got.length).toBeGreaterThan(0);
        for (const e of got) expect(sameEntry(e, written[e.index - 1]!)).toBe(true);
        // Terms never need the disk.
        expect(log.term(5)).toBe(1);
        expect(log.term(25)).toBe(2);
        expect(log.term(60)).toBe(3);
        // Every entry can be read back through loads.
        const all = await entriesOf(log, 1, 61);
        for (const e of all) expect(sameEntry(e, written[e.index - 1]!)).toBe(true);
      },
    );
  });
});

describe('ReplicatedLog entry cache budget by role', () => {
  it('keeps applied entries up to the follower budget while following, the leader budget while leading', async () => {
    const dir = scratchDir('rlog-');
    const followerCacheBytes = 2048;
    await withLog(
      await openReplicated(dir, {}, { cacheBytes: 1024 * 1024, followerCacheBytes }),
      async (log) => {
        const m = new EntryMaker();
        const batch = () => Array.from({ length: 60 }, (_, k) => m.data(1, [`value-${k}`.padEnd(100, '.')]));
        await log.save({ entries: batch() }, true);
        log.setAppliedIndex(log.lastIndex());
        expect(log.stats().cacheBytes).toBeLessThanOrEqual(followerCacheBytes);
        // Leading: what it applies stays cached for followers that lag.
        log.cacheWrites(true);
        await log.save({ entries: batch() }, true);
        log.setAppliedIndex(log.lastIndex());
        expect(log.stats().cacheBytes).toBeGreaterThan(4 * followerCacheBytes);
        // Following again: down to the follower budget at once.
        log.cacheWrites(false);
        expect(log.stats().cacheBytes).toBeLessThanOrEqual(followerCacheBytes);
      },
    );
  });
});

describe('ReplicatedLog catch-up reads through a shared bulkhead', () => {
  it('turns away a background load beyond the bulkhead (nothing cached, no error) and loads it when asked again', async () => {
    const catchUpReads = new Bulkhead({ name: 'test.catch-up', concurrencyMax: 1, queueMax: 0 });
    const open = (dir: string) =>
      openReplicated(dir, { segmentBytes: 2000 }, { cacheBytes: 1, followerCacheBytes: 1, catchUpReads });
    await withLog(await open(scratchDir('rlog-a-')), async (a) => {
      await withLog(await open(scratchDir('rlog-b-')), async (b) => {
        const m = new EntryMaker();
        const written = Array.from({ length: 60 }, (_, k) => m.data(1, [`v${k}`]));
        for (const log of [a, b]) {
          await log.save({ entries: written }, true);
          log.setAppliedIndex(40);
        }
        // a's load takes the one slot; b's is turned away at once.
        expect(a.entries(5, 10, Number.MAX_SAFE_INTEGER)).toBe('unavailable');
        expect(b.entries(5, 10, Number.MAX_SAFE_INTEGER)).toBe('unavailable');
        expect(catchUpReads.stats()).toMatchObject({ active: 1, rejected: 1 });
        await a.loadsIdle();
        await b.loadsIdle();
        expect(Array.isArray(a.entries(5, 10, Number.MAX_SAFE_INTEGER))).toBe(true);
        // Nothing was loaded for b; asking again (the leader's next try) loads it.
        expect(b.entries(5, 10, Number.MAX_SAFE_INTEGER)).toBe('unavailable');
        await b.loadsIdle();
        const got = b.entries(5, 10, Number.MAX_SAFE_INTEGER) as Entry[];
        expect(got.length).toBeGreaterThan(0);
        for (const e of got) expect(sameEntry(e, written[e.index - 1]!)).toBe(true);
        expect(catchUpReads.stats()).toMatchObject({ active: 0, queued: 0, rejected: 1 });
      });
    });
  });
});

describe('ReplicatedLog snapshots and retention', () => {
  it('a snapshot from the leader replaces the log', async () => {
    const dir = scratchDir('rlog-');
    let log = await openReplicated(dir, { segmentBytes: 300 });
    const m = new EntryMaker();
    await log.save({ entries: Array.from({ length: 10 }, (_, k) => m.data(1, [`v${k}`])) }, true);
    const snap = {
      metadata: { index: 20, term: 3, confState: { voters, learners: [] } },
      data: encodePartitionSnapshot(500, Buffer.from('state')),
    };
    const after = new EntryMaker(500, 21);
    await log.save(
      { snapshot: snap, entries: [after.data(3, ['s0', 's1'])], hardState: { term: 3, vote: 0, commit: 21 } },
      true,
    );
    const check = async (log: ReplicatedLog) => {
      expect(log.firstIndex()).toBe(21);
      expect(log.lastIndex()).toBe(21);
      expect(log.term(20)).toBe(3);
      expect(log.entries(20, 21, 100)).toBe('compacted');
      expect(log.logStartOffset()).toBe(500);
      expect(log.logEndOffset()).toBe(502);
      expect(await readValues(log)).toEqual([
        { offset: 500, value: 's0' },
        { offset: 501, value: 's1' },
      ]);
      expect(await logFiles(dir)).toEqual([`${'500'.padStart(20, '0')}.log`]);
    };
    await check(log);
    await log.close();
    log = await openReplicated(dir, { segmentBytes: 300 });
    await withLog(log, async (log) => {
      await check(log);
      expect(log.snapshot().metadata.index).toBe(20);
      expect(Buffer.from(log.snapshot().data).equals(Buffer.from(snap.data))).toBe(true);
    });
  });

  it('retention deletes old segments but never an entry above floorIndex', async () => {
    const dir = scratchDir('rlog-');
    let log = await openReplicated(dir, { segmentBytes: 300, retentionBytes: 0 });
    const m = new EntryMaker();
    await log.save(
      { entries: Array.from({ length: 30 }, (_, k) => m.data(1 + Math.floor(k / 10), [`v${k}`])) },
      true,
    );
    const segmentsBefore = log.stats().segments;
    const result = await log.applyRetention({ floorIndex: 12, nowMs: 0 });
    expect(result.deletedSegments).toBeGreaterThan(0);
    expect(log.stats().segments).toBe(segmentsBefore - result.deletedSegments);
    const first = log.firstIndex();
    expect(first).toBeGreaterThan(1);
    expect(first - 1).toBeLessThanOrEqual(12);
    expect(log.term(first - 1)).toBe(first - 1 <= 10 ? 1 : 2);
    expect(log.entries(first - 1, first, 100)).toBe('compacted');
    expect(log.logStartOffset()).toBe(first - 1);
    expect((await readValues(log))[0]).toEqual({ offset: first - 1, value: `v${first - 1}` });
    await log.close();
    log = await openReplicated(dir, { segmentBytes: 300, retentionBytes: 0 });
    await withLog(log, async (log) => {
      expect(log.firstIndex()).toBe(first);
      expect(log.term(first - 1)).toBe(first - 1 <= 10 ? 1 : 2);
      expect(log.lastIndex()).toBe(30);
      // Nothing more goes while the floor stays.
      expect((await log.applyRetention({ floorIndex: 12, nowMs: 0 })).deletedSegments).toBe(0);
    });
  });
});

describe('ReplicatedLog catch-up snapshots', () => {
  // A follower behind the leader's first entry installs the snapshot the leader sends and restarts its log
  // there. Sent the latest snapshot, it would hold only the entries since (a process test saw 2100 fewer
  // offsets than its leader kept), and a failover to it would lose what retention still kept.
  it('offers the first snapshot taken in the first retained segment, not the latest, also after reopen', async () => {
    const dir = scratchDir('rlog-');
    const config = { segmentBytes: 300, retentionBytes: 0 };
    let log = await openReplicated(dir, config);
    const m = new EntryMaker();
    const confState = { voters, learners: [] };
    const snapshotAt = (index: number) => ({
      metadata: { index, term: 1, confState },
      data: encodePartitionSnapshot(index, Buffer.from(`sm@${index}`)),
    });
    for (let k = 0; k < 40; k++) {
      await log.save(
        { entries: [m.data(1, [`v${k}`])], hardState: { term: 1, vote: 0, commit: k + 1 } },
        true,
      );
      // Applied one by one, as a replica's driver does: a snapshot where the store asks for one, and every
      // 10 entries (a replica's interval is 512).
      if (log.wantsSnapshot(k + 1) || (k + 1) % 10 === 0) await log.saveSnapshot(snapshotAt(k + 1), k + 1);
    }
    expect(log.stats().segments).toBeGreaterThan(5);
    expect((await log.applyRetention({ floorIndex: 30, nowMs: 0 })).deletedSegments).toBeGreaterThan(2);
    const check = (log: ReplicatedLog) => {
      const start = log.firstIndex() - 1;
      const sent = log.catchUpSnapshot();
      expect(log.snapshot().metadata.index).toBeGreaterThanOrEqual(39);
      // Taken at the first retained segment's first entry, not the latest.
      expect(sent.metadata.index).toBe(start + 1);
      expect(Buffer.from(sent.data).equals(Buffer.from(snapshotAt(sent.metadata.index).data))).toBe(true);
      return sent;
    };
    const sent = check(log);
    await log.close();
    log = await openReplicated(dir, config);
    await withLog(log, async (log) => {
      expect(check(log)).toEqual(sent);
    });

    // A follower that installs it starts its log there and offers it in turn.
    const follower = await openReplicated(scratchDir('rlog-'), config);
    await withLog(follower, async (follower) => {
      await follower.save({ entries: [], snapshot: sent }, true);
      expect(follower.logStartOffset()).toBe(sent.metadata.index);
      expect(follower.catchUpSnapshot()).toEqual(sent);
    });
  });
});

describe('ReplicatedLog catch-up snapshot that cannot be written', () => {
  it('leaves the partition snapshot saved (its Raft node goes on) and is not asked for again in that segment', async () => {
    const dir = scratchDir('rlog-');
    const failing: StorageFs = {
      ...nodeStorageFs,
      writeFileAtomic: async (path, data) => {
        if (path.includes('raft-snapshot-'))
          throw Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' });
        return nodeStorageFs.writeFileAtomic(path, data);
      },
    };
    const log = await openReplicated(dir, { segmentBytes: 1 << 20 }, { fs: failing });
    await withLog(log, async (log) => {
      const m = new EntryMaker();
      await log.save({ entries: [m.data(1, ['a'])], hardState: { term: 1, vote: 0, commit: 1 } }, true);
      expect(log.wantsSnapshot(1)).toBe(true);
      const snap = {
        metadata: { index: 1, term: 1, confState: { voters, learners: [] } },
        data: encodePartitionSnapshot(1, Buffer.from('sm@1')),
      };
      await log.saveSnapshot(snap, 1); // used to throw, which stops the partition's Raft node
      expect(log.snapshot().metadata.index).toBe(1);
      // Tried for this segment: a failing disk is not asked for a snapshot at every Ready.
      await log.save({ entries: [m.data(1, ['b'])], hardState: { term: 1, vote: 0, commit: 2 } }, true);
      expect(log.wantsSnapshot(2)).toBe(false);
    });
  });
});

describe('ReplicatedLog recovery and durability', () => {
  it('truncates a torn tail on open, dropping its entries, and appends after it', async () => {
    const dir = scratchDir('rlog-');
    let log = await openReplicated(dir);
    const m = new EntryMaker();
    await log.save({ entries: [m.data(1, ['a']), m.data(1, ['b']), m.data(1, ['c'])] }, true);
    await log.close();
    const path = join(dir, (await logFiles(dir))[0]!);
    await truncate(path, (await stat(path)).size - 5);
    log = await openReplicated(dir);
    await withLog(log, async (log) => {
      expect(log.lastIndex()).toBe(2);
      expect(log.logEndOffset()).toBe(2);
      const m2 = new EntryMaker(2, 3);
      await log.save({ entries: [m2.data(1, ['c2'])] }, true);
      expect((await readValues(log)).map((v) => v.value)).toEqual(['a', 'b', 'c2']);
    });
  });

  it('refuses to open a log corrupt in the middle with CORRUPT_LOG', async () => {
    const dir = scratchDir('rlog-');
    const log = await openReplicated(dir);
    const m = new EntryMaker();
    await log.save({ entries: [m.data(1, ['aaaa']), m.data(1, ['b']), m.data(1, ['c'])] }, true);
    await log.close();
    const handle = await openFile(join(dir, (await logFiles(dir))[0]!), 'r+');
    await handle.write(Buffer.from([0x55]), 0, 1, 70);
    await handle.close();
    await expect(openReplicated(dir)).rejects.toMatchObject({ code: 'CORRUPT_LOG' });
  });

  it('makes one fdatasync per synced save (group commit), none without sync', async () => {
    const dir = scratchDir('rlog-');
    const fs = new TestFs();
    await withLog(await openReplicated(dir, {}, { fs, bootstrapVoters: voters }), async (log) => {
      const m = new EntryMaker(0, 4);
      await log.save({ entries: [m.noop(2)], hardState: { term: 2, vote: 1, commit: 3 } }, true);
      const before = fs.datasyncs;
      for (let k = 0; k < 3; k++) {
        const entries = Array.from({ length: 5 }, (_, j) => m.data(2, [`v${k}.${j}`]));
        await log.save({ entries, hardState: { term: 2, vote: 1, commit: 4 + 5 * k } }, true);
      }
      expect(fs.datasyncs - before).toBe(3);
      await log.save(
        { entries: [m.data(2, ['unsynced'])], hardState: { term: 2, vote: 1, commit: 19 } },
        false,
      );
      expect(fs.datasyncs - before).toBe(3);
      await log.flush();
      expect(fs.datasyncs - before).toBe(4);
    });
  });

  it("under flushPolicy 'interval' defers the fsync of synced saves to the timer", async () => {
    const dir = scratchDir('rlog-');
    const fs = new TestFs();
    let tick: (() => void) | undefined;
    const scheduleInterval = (fn: () => void) => {
      tick = fn;
      return () => {
        tick = undefined;
      };
    };
    const log = await openReplicated(dir, { flushPolicy: 'interval' }, { fs, scheduleInterval });
    await withLog(log, async (log) => {
      const before = fs.datasyncs;
      const m = new EntryMaker();
      await log.save({ entries: [m.data(1, ['a']), m.data(1, ['b'])] }, true);
      expect(fs.datasyncs).toBe(before);
      tick?.();
      // Queued behind the timer's flush (writes run one at a time): the fsync is the timer's.
      await log.save({ entries: [] }, false);
      expect(fs.datasyncs).toBe(before + 1);
    });
    expect(tick).toBeUndefined();
  });

  it('fails a save with DISK_FULL on ENOSPC and every call with LOG_CLOSED after close', async () => {
    const dir = scratchDir('rlog-');
    const fs = new TestFs();
    const log = await openReplicated(dir, {}, { fs });
    const m = new EntryMaker();
    fs.failNext({ op: 'write', code: 'ENOSPC' });
    await expect(log.save({ entries: [m.data(1, ['x'])] }, true)).rejects.toMatchObject({
      code: 'DISK_FULL',
    });
    expect(log.lastIndex()).toBe(0);
    await log.close();
    await expect(log.save({ entries: [] }, true)).rejects.toMatchObject({ code: 'LOG_CLOSED' });
    await expect(log.read(0, 100, 0)).rejects.toMatchObject({ code: 'LOG_CLOSED' });
  });
});

describe('ReplicatedLog hard state', () => {
  it('a commit index written lazily is never reported below the snapshot after a crash, and is on disk after the interval', async () => {
    const dir = scratchDir('rlog-');
    const crashed = scratchDir('rlog-');
    const later = scratchDir('rlog-');
    const m = new EntryMaker(0, 4);
    await withLog(await openReplicated(dir, {}, { bootstrapVoters: voters }), async (log) => {
      await log.save({ entries: [m.noop(2)], hardState: { term: 2, vote: 1, commit: 3 } }, true);
      for (let k = 0; k < 5; k++) {
        await log.save(
          { entries: [m.data(2, [`v${k}`])], hardState: { term: 2, vote: 1, commit: 4 + k } },
          true,
        );
      }
      await log.saveSnapshot(
        {
          metadata: { index: 8, term: 2, confState: { voters, learners: [] } },
          data: encodePartitionSnapshot(4, Buffer.from('sm')),
        },
        8,
      );
      // A crash now: the file still has commit 3 (the later commits were within the interval).
      await cp(dir, crashed, { recursive: true });
      clock.advance(HARD_STATE_COMMIT_WRITE_INTERVAL_MS);
      await log.save({ entries: [], hardState: { term: 2, vote: 1, commit: 9 } }, true);
      await cp(dir, later, { recursive: true });
    });
    await withLog(await openReplicated(crashed), async (log) => {
      // Everything up to the snapshot was committed: Raft must not start below it.
      expect(log.initialState().hardState).toEqual({ term: 2, vote: 1, commit: 8 });
    });
    await withLog(await openReplicated(later), async (log) => {
      expect(log.initialState().hardState).toEqual({ term: 2, vote: 1, commit: 9 });
    });
  });

  it('close writes the latest commit index', async () => {
    const dir = scratchDir('rlog-');
    const m = new EntryMaker(0, 4);
    await withLog(await openReplicated(dir, {}, { bootstrapVoters: voters }), async (log) => {
      await log.save({ entries: [m.noop(2)], hardState: { term: 2, vote: 1, commit: 3 } }, true);
      await log.save({ entries: [m.data(2, ['a'])], hardState: { term: 2, vote: 1, commit: 5 } }, true);
    });
    await withLog(await openReplicated(dir), async (log) => {
      expect(log.initialState().hardState).toEqual({ term: 2, vote: 1, commit: 5 });
    });
  });
});

describe('ReplicatedLog open', () => {
  it('replaces a log that predates its snapshot file (a crash in the middle of a snapshot install)', async () => {
    const dir = scratchDir('rlog-');
    const other = scratchDir('rlog-');
    const m = new EntryMaker();
    await withLog(await openReplicated(dir), (log) =>
      log.save({ entries: [m.data(1, ['a']), m.data(1, ['b'])] }, true),
    );
    const snapshot = {
      metadata: { index: 20, term: 4, confState: { voters, learners: [] } },
      data: encodePartitionSnapshot(77, new Uint8Array(0)),
    };
    await withLog(await openReplicated(other), (log) => log.save({ snapshot, entries: [] }, true));
    await copyFile(join(other, SNAPSHOT_FILE), join(dir, SNAPSHOT_FILE));
    await withLog(await openReplicated(dir), async (log) => {
      expect(log.firstIndex()).toBe(21);
      expect(log.lastIndex()).toBe(20);
      expect(log.term(20)).toBe(4);
      expect(log.logStartOffset()).toBe(77);
      expect(log.logEndOffset()).toBe(77);
      expect(await logFiles(dir)).toEqual([`${'77'.padStart(20, '0')}.log`]);
    });
  });

  it('bootstraps only an empty folder', async () => {
    const dir = scratchDir('rlog-');
    await withLog(await openReplicated(dir, {}, { bootstrapVoters: voters }), async (log) => {
      const m = new EntryMaker(0, 4);
      await log.save({ entries: [m.noop(2)], hardState: { term: 2, vote: 3, commit: 4 } }, true);
    });
    await withLog(await openReplicated(dir, {}, { bootstrapVoters: voters }), async (log) => {
      expect(log.lastIndex()).toBe(4);
      expect(log.initialState().hardState).toEqual({ term: 2, vote: 3, commit: 4 });
    });
  });

  it('falls back to the previous hard state when the latest slot is torn', async () => {
    const dir = scratchDir('rlog-');
    await withLog(await openReplicated(dir), async (log) => {
      await log.save({ entries: [], hardState: { term: 2, vote: 1, commit: 0 } }, true);
      await log.save({ entries: [], hardState: { term: 3, vote: 2, commit: 0 } }, true);
    });
    // Slots alternate: the first write went to slot 1 (byte 512), the second to slot 0.
    const handle = await openFile(join(dir, HARD_STATE_FILE), 'r+');
    await handle.write(Buffer.from([0xff]), 0, 1, 14);
    await handle.close();
    await withLog(await openReplicated(dir), async (log) => {
      expect(log.initialState().hardState).toEqual({ term: 2, vote: 1, commit: 0 });
    });
  });
});
