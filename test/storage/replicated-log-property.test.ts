/**
 * Model check: random appends, conflicting suffixes, snapshot installs, retention, applied-index moves and
 * reopens against a plain in-memory model of the Raft log and of the Kafka records it holds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/raft/core/types.js';
import { encodePartitionSnapshot } from '../../src/storage/partition-store.js';
import type { ReplicatedLog } from '../../src/storage/replicated-log.js';
import { batchOf, tempDir } from './helpers.js';
import { entriesOf, openReplicated, readValues, sameEntry } from './replicated-log-helpers.js';

type Kind = 'data' | 'noop' | 'conf';
const kind = fc.constantFrom<Kind>('data', 'data', 'data', 'noop', 'conf');

const command = fc.oneof(
  fc.record({
    op: fc.constant('append' as const),
    kinds: fc.array(kind, { minLength: 1, maxLength: 6 }),
    bump: fc.boolean(),
  }),
  fc.record({
    op: fc.constant('conflict' as const),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    kinds: fc.array(kind, { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ op: fc.constant('applied' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ op: fc.constant('retention' as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ op: fc.constant('snapshot' as const), gap: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ op: fc.constant('reopen' as const) }),
);

interface ModelEntry {
  entry: Entry;
  values: string[];
}

const seed = Number(process.env.STORAGE_PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));
const cfg = { segmentBytes: 400, indexIntervalBytes: 100, retentionBytes: 0 };

describe('ReplicatedLog model check', () => {
  it(`matches an in-memory model across appends, truncations, snapshots, retention and reopens (seed ${seed})`, async () => {
    console.log(`replicated-log property seed: ${seed} (rerun with STORAGE_PROPERTY_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 20 }), async (commands) => {
        const dir = await tempDir();
        let log: ReplicatedLog = await openReplicated(dir.path, cfg, { cacheBytes: 300 });
        let model: ModelEntry[] = [];
        let prevIndex = 0;
        let prevTerm = 0;
        let startOffset = 0;
        let term = 1;
        let floor = 0;
        let counter = 0;
        const lastIndex = () => prevIndex + model.length;
        const make = (k: Kind, index: number): ModelEntry => {
          if (k === 'noop')
            return { entry: { term, index, type: 'normal', data: new Uint8Array(0) }, values: [] };
          if (k === 'conf')
            return {
              entry: { term, index, type: 'conf-change', data: Buffer.from(`c${counter++}`) },
              values: [],
            };
          const values = Array.from({ length: 1 + (counter % 3) }, () => `v${counter++}`);
          return { entry: { term, index, type: 'normal', data: batchOf(values) }, values };
        };
        const check = async () => {
          expect(log.firstIndex()).toBe(prevIndex + 1);
          expect(log.lastIndex()).toBe(lastIndex());
          expect(log.term(prevIndex)).toBe(prevTerm);
          for (const m of model) expect(log.term(m.entry.index)).toBe(m.entry.term);
          const got = await entriesOf(log, prevIndex + 1, lastIndex() + 1);
          expect(got.length).toBe(model.length);
          for (let k = 0; k < got.length; k++) expect(sameEntry(got[k]!, model[k]!.entry)).toBe(true);
          const values = model.flatMap((m) => m.values);
          expect(log.logStartOffset()).toBe(startOffset);
          expect(log.logEndOffset()).toBe(startOffset + values.length);
          const read = await readValues(log, log.logEndOffset(), 150);
          expect(read).toEqual(values.map((value, k) => ({ offset: startOffset + k, value })));
        };
        try {
          for (const c of commands) {
            switch (c.op) {
              case 'append': {
                if (c.bump) term++;
                const added = c.kinds.map((k, j) => make(k, lastIndex() + 1 + j));
                await log.save({ entries: added.map((m) => m.entry) }, true);
                model.push(...added);
                break;
              }
              case 'conflict': {
                const lo = Math.max(floor, prevIndex) + 1;
                if (lo > lastIndex()) break;
                const at = lo + Math.floor(c.fraction * (lastIndex() - lo + 1));
                term++;
                const added = c.kinds.map((k, j) => make(k, at + j));
                await log.save({ entries: added.map((m) => m.entry) }, true);
                model = [...model.slice(0, at - prevIndex - 1), ...added];
                break;
              }
              case 'applied':
                log.setAppliedIndex(Math.floor(c.fraction * lastIndex()));
                break;
              case 'retention': {
                floor = Math.max(floor, Math.floor(c.fraction * lastIndex()));
                await log.applyRetention({ floorIndex: floor, nowMs: 0 });
                const first = log.firstIndex();
                expect(first - 1).toBeLessThanOrEqual(Math.max(floor, prevIndex));
                const dropped = model.slice(0, first - 1 - prevIndex);
                if (dropped.length > 0) prevTerm = dropped[dropped.length - 1]!.entry.term;
                startOffset += dropped.flatMap((m) => m.values).length;
                model = model.slice(dropped.length);
                prevIndex = first - 1;
                break;
              }
              case 'snapshot': {
                term++;
                const index = lastIndex() + c.gap;
                const nextOffset = startOffset + model.flatMap((m) => m.values).length + 100;
                const snapshot = {
                  metadata: { index, term, confState: { voters: [1], learners: [] } },
                  data: encodePartitionSnapshot(nextOffset, new Uint8Array(0)),
                };
                await log.save({ snapshot, entries: [] }, true);
                model = [];
                prevIndex = index;
                prevTerm = term;
                startOffset = nextOffset;
                floor = Math.max(floor, index);
                break;
              }
              case 'reopen':
                await log.close();
                log = await openReplicated(dir.path, cfg, { cacheBytes: 300 });
                break;
            }
            await check();
          }
        } finally {
          await log.close();
          await dir.cleanup();
        }
      }),
      { seed, numRuns: Number(process.env.STORAGE_PROPERTY_RUNS ?? 40) },
    );
  }, 120_000);
});
