import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { batchOf, ManualClock, openLog, readAll, tempDir, valuesOf } from './helpers.js';

type Command =
  | { kind: 'append'; batches: number[] }
  | { kind: 'concurrent'; appends: number }
  | { kind: 'age' }
  | { kind: 'reopen' }
  | { kind: 'truncate'; fraction: number }
  | { kind: 'read'; fraction: number; maxBytes: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      batches: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('concurrent' as const),
      appends: fc.integer({ min: 2, max: 12 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('age' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('truncate' as const),
      fraction: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      fraction: fc.double({ min: 0, max: 1, noNaN: true }),
      maxBytes: fc.integer({ min: 0, max: 600 }),
    }),
  },
);

const seed = Number(process.env.STORAGE_PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));

describe('PartitionLog model check', () => {
  it(`keeps offsets contiguous and reads equal to what was appended across appends, rolls, reopens and truncations (seed ${seed})`, async () => {
    console.log(`partition-log property seed: ${seed} (rerun with STORAGE_PROPERTY_SEED=${seed})`);
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 25 }), async (commands) => {
        const dir = await tempDir();
        const clock = new ManualClock();
        const cfg = { segmentBytes: 700, indexIntervalBytes: 150, segmentMs: 60_000 };
        let log: PartitionLog = await openLog(dir.path, cfg, { clock });
        /** model[i] = value at offset i; batchStarts: base offsets of batches. */
        const model: string[] = [];
        const batchStarts: number[] = [];
        let counter = 0;
        const appendBatches = async (sizes: number[]) => {
          const values = sizes.map((n) => Array.from({ length: n }, () => `v${counter++}`));
          const result = await log.append(Buffer.concat(values.map((v) => batchOf(v, clock.nowMs()))));
          expect(result.baseOffset).toBe(model.length);
          for (const v of values) {
            batchStarts.push(model.length);
            model.push(...v);
          }
          expect(result.lastOffset).toBe(model.length - 1);
        };
        try {
          for (const c of commands) {
            switch (c.kind) {
              case 'append':
                await appendBatches(c.batches);
                break;
              case 'concurrent': {
                const sizes = Array.from({ length: c.appends }, (_, i) => (i % 3) + 1);
                const values = sizes.map((n) => Array.from({ length: n }, () => `v${counter++}`));
                const results = await Promise.all(values.map((v) => log.append(batchOf(v, clock.nowMs()))));
                for (let i = 0; i < values.length; i++) {
                  expect(results[i]!.baseOffset).toBe(model.length);
                  batchStarts.push(model.length);
                  model.push(...values[i]!);
                }
                break;
              }
              case 'age':
                clock.advance(60_000);
                break;
              case 'reopen':
                await log.close();
                log = await openLog(dir.path, cfg, { clock });
                break;
              case 'truncate': {
                const target = Math.floor(c.fraction * model.length);
                const cut = batchStarts.filter((b) => b <= target).pop() ?? 0;
                const end = await log.truncateTo(target);
                const expectedEnd = target >= model.length ? model.length : cut;
                expect(end).toBe(expectedEnd);
                model.length = expectedEnd;
                while (batchStarts.length > 0 && batchStarts[batchStarts.length - 1]! >= expectedEnd)
                  batchStarts.pop();
                break;
              }
              case 'read': {
                if (model.length === 0) break;
                const offset = Math.min(model.length - 1, Math.floor(c.fraction * model.length));
                const got = valuesOf((await log.read(offset, c.maxBytes)).records);
                const batchStart = batchStarts.filter((b) => b <= offset).pop()!;
                expect(got.length).toBeGreaterThan(0);
                expect(got[0]!.offset).toBe(batchStart);
                for (const r of got) expect(r.value).toBe(model[r.offset]);
                break;
              }
            }
            expect(log.logEndOffset()).toBe(model.length);
            expect(log.highWatermark()).toBe(model.length);
          }
          const all = await readAll(log);
          expect(all.map((r) => r.offset)).toEqual(model.map((_, i) => i));
          expect(all.map((r) => r.value)).toEqual(model);
        } finally {
          await log.close();
          await dir.cleanup();
        }
      }),
      { seed, numRuns: 40 },
    );
  });
});
