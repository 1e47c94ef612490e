import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeRecords, encodeRecordBatch, splitBatches } from '../../src/protocol/record-batch.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/storage/config.js';
import { PartitionLog } from '../../src/storage/partition-log.js';
import type { PartitionLogDeps } from '../../src/storage/partition-log-types.js';
import { nodeStorageFs, type StorageFile, type StorageFs } from '../../src/storage/storage-fs.js';
import type { Clock } from '../../src/storage/types.js';

export class ManualClock implements Clock {
  constructor(public now = 1_700_000_000_000) {}
  nowMs(): number {
    return this.now;
  }
  advance(ms: number): void {
    this.now += ms;
  }
}

export async function tempDir(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'streambus-storage-'));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** One client batch holding `values` (all records share `timestampMs`). */
export function batchOf(values: string[], timestampMs = 1_700_000_000_000): Buffer {
  return encodeRecordBatch(
    values.map((value) => ({ value })),
    { baseTimestamp: timestampMs },
  );
}

/** Every record value in `records` (whole batches), with offsets. */
export function valuesOf(records: Buffer): { offset: number; value: string }[] {
  const out: { offset: number; value: string }[] = [];
  for (const batch of splitBatches(records)) {
    for (const r of decodeRecords(batch)) out.push({ offset: r.offset, value: r.value?.toString() ?? '' });
  }
  return out;
}

/** Reads the whole visible log from `from`, following batches across segments. */
export async function readAll(
  log: PartitionLog,
  from = log.logStartOffset(),
): Promise<{ offset: number; value: string }[]> {
  const out: { offset: number; value: string }[] = [];
  let offset = from;
  while (offset < log.highWatermark()) {
    const { records } = await log.read(offset, 64 * 1024);
    const values = valuesOf(records);
    if (values.length === 0) throw new Error(`no progress reading at ${offset}`);
    for (const v of values) if (v.offset >= offset) out.push(v);
    offset = values[values.length - 1]!.offset + 1;
  }
  return out;
}

export function config(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, ...overrides };
}

export function openLog(
  dir: string,
  overrides: Partial<LogConfig> = {},
  deps: Partial<PartitionLogDeps> = {},
) {
  return PartitionLog.open(dir, config(overrides), { clock: deps.clock ?? new ManualClock(), ...deps });
}

type Fault = { op: 'write' | 'datasync' | 'create'; code: string; partialBytes?: number };

/**
 * A real file system with knobs: counts fdatasyncs, fails chosen operations with a given errno (ENOSPC), and
 * can hold fdatasyncs until the test releases them (to make group commit deterministic).
 */
export class TestFs implements StorageFs {
  datasyncs = 0;
  writes = 0;
  private faults: Fault[] = [];
  private gate: { promise: Promise<void>; release: () => void } | undefined;
  /** Resolves each time a datasync starts waiting at the gate. */
  private gateWaiters: (() => void)[] = [];

  failNext(fault: Fault): void {
    this.faults.push(fault);
  }

  clearFaults(): void {
    this.faults = [];
  }

  holdDatasyncs(): void {
    let release!: () => void;
    const promise = new Promise<void>((r) => (release = r));
    this.gate = { promise, release };
  }

  /** Lets held datasyncs finish; new ones are held again only after another holdDatasyncs(). */
  releaseDatasyncs(): void {
    const gate = this.gate;
    this.gate = undefined;
    gate?.release();
  }

  /** Resolves when a datasync is waiting at the gate. */
  datasyncWaiting(): Promise<void> {
    return new Promise((resolve) => this.gateWaiters.push(resolve));
  }

  private takeFault(op: Fault['op']): Fault | undefined {
    const i = this.faults.findIndex((f) => f.op === op);
    if (i < 0) return undefined;
    return this.faults.splice(i, 1)[0];
  }

  private wrap(file: StorageFile): StorageFile {
    return {
      writev: async (buffers, position) => {
        this.writes++;
        const fault = this.takeFault('write');
        if (fault !== undefined) {
          if (fault.partialBytes !== undefined) {
            const all = Buffer.concat(buffers);
            await file.writev([all.subarray(0, fault.partialBytes)], position);
          }
          throw Object.assign(new Error(`${fault.code}: injected`), { code: fault.code });
        }
        return file.writev(buffers, position);
      },
      read: (buffer, offset, length, position) => file.read(buffer, offset, length, position),
      datasync: async () => {
        if (this.gate !== undefined) {
          const gate = this.gate;
          for (const w of this.gateWaiters.splice(0)) w();
          await gate.promise;
        }
        const fault = this.takeFault('datasync');
        if (fault !== undefined)
          throw Object.assign(new Error(`${fault.code}: injected`), { code: fault.code });
        this.datasyncs++;
        return file.datasync();
      },
      truncate: (length) => file.truncate(length),
      size: () => file.size(),
      close: () => file.close(),
    };
  }

  async openFile(path: string, mode: 'create' | 'open'): Promise<StorageFile> {
    if (mode === 'create') {
      const fault = this.takeFault('create');
      if (fault !== undefined)
        throw Object.assign(new Error(`${fault.code}: injected`), { code: fault.code });
    }
    return this.wrap(await nodeStorageFs.openFile(path, mode));
  }
  readdir = nodeStorageFs.readdir;
  mkdirp = nodeStorageFs.mkdirp;
  unlink = nodeStorageFs.unlink;
  rmrf = nodeStorageFs.rmrf;
  readFile = nodeStorageFs.readFile;
  writeFileAtomic = nodeStorageFs.writeFileAtomic;
  writeFileExclusive = nodeStorageFs.writeFileExclusive;
  syncDir = nodeStorageFs.syncDir;
  rename = nodeStorageFs.rename;
  statfs = nodeStorageFs.statfs;
}
