/**
 * The small files of a replicated log, each CRC'd so a torn or foreign file is detected, never misread.
 *
 * `raft-hardstate`: two 40-byte slots at byte 0 and 512, written alternately in place; open takes the valid
 *   slot with the higher sequence number, so a torn write loses at most the update being written.
 *   slot: [magic u32 'SBHS'][seq u64][term u64][vote u64][commit u64][crc32c u32 of the preceding 36 bytes]
 *
 * `raft-snapshot`: replaced atomically (tmp, fsync, rename, fsync dir).
 *   [magic u32 'SBSN'][version u8 = 1][body length u32][crc32c u32 of body][body: diskCodec snapshot]
 *
 * `<20-digit base offset>.ridx`: the Raft side of one segment, replaced atomically. Written when the segment
 *   is created (open form) and again when it rolls (closed form, so open need not scan it).
 *   [magic u32 'SBRI'][version u8 = 1][closed u8][firstIndex u64][prevTerm u64]
 *   closed only: [count u32][sizeBytes u32][nextOffset u64][maxTimestamp i64]
 *                [runs u32][(relStart u32, term u64) x runs][points u32][(relIndex u32, position u32) x points]
 *   [crc32c u32 of everything before]
 */
import { crc32c } from '../protocol/crc32c.js';
import { diskCodec } from '../raft/codec.js';
import type { HardState, Snapshot } from '../raft/core/types.js';
import type { StorageFile } from './storage-fs.js';

export const HARD_STATE_FILE = 'raft-hardstate';
export const SNAPSHOT_FILE = 'raft-snapshot';
export const RAFT_INDEX_SUFFIX = '.ridx';

const HS_MAGIC = 0x53424853;
const SNAP_MAGIC = 0x5342534e;
const RIDX_MAGIC = 0x53425249;
const HS_SLOT_BYTES = 40;
const HS_SLOT_STRIDE = 512;

function writeU64(buf: Buffer, at: number, value: number): void {
  const high = Math.floor(value / 4294967296);
  buf.writeInt32BE(high, at);
  buf.writeUInt32BE(value - high * 4294967296, at + 4);
}

function readU64(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * 4294967296 + buf.readUInt32BE(at + 4);
}

/** The hard state file, open for in-place slot writes. */
export class HardStateFile {
  private seq: number;

  private constructor(
    private readonly file: StorageFile,
    seq: number,
    readonly initial: HardState,
  ) {
    this.seq = seq;
  }

  static async open(file: StorageFile): Promise<HardStateFile> {
    const buf = Buffer.alloc(HS_SLOT_STRIDE + HS_SLOT_BYTES);
    const n = await file.read(buf, 0, buf.length, 0);
    let best: { seq: number; hs: HardState } | undefined;
    for (const at of [0, HS_SLOT_STRIDE]) {
      if (at + HS_SLOT_BYTES > n) continue;
      if (buf.readUInt32BE(at) !== HS_MAGIC) continue;
      if (crc32c(buf.subarray(at, at + 36)) !== buf.readUInt32BE(at + 36)) continue;
      const seq = readU64(buf, at + 4);
      if (best !== undefined && best.seq >= seq) continue;
      best = {
        seq,
        hs: { term: readU64(buf, at + 12), vote: readU64(buf, at + 20), commit: readU64(buf, at + 28) },
      };
    }
    return new HardStateFile(file, best?.seq ?? 0, best?.hs ?? { term: 0, vote: 0, commit: 0 });
  }

  /** Writes the next slot; fdatasyncs when `sync`. */
  async write(hs: HardState, sync: boolean): Promise<void> {
    const seq = this.seq + 1;
    const buf = Buffer.allocUnsafe(HS_SLOT_BYTES);
    buf.writeUInt32BE(HS_MAGIC, 0);
    writeU64(buf, 4, seq);
    writeU64(buf, 12, hs.term);
    writeU64(buf, 20, hs.vote);
    writeU64(buf, 28, hs.commit);
    buf.writeUInt32BE(crc32c(buf.subarray(0, 36)), 36);
    await this.file.writev([buf], (seq % 2) * HS_SLOT_STRIDE);
    if (sync) await this.file.datasync();
    this.seq = seq;
  }

  datasync(): Promise<void> {
    return this.file.datasync();
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

export function encodeSnapshotFile(snapshot: Snapshot): Buffer {
  const body = Buffer.from(diskCodec.encodeSnapshot(snapshot));
  const head = Buffer.allocUnsafe(13);
  head.writeUInt32BE(SNAP_MAGIC, 0);
  head[4] = 1;
  head.writeUInt32BE(body.length, 5);
  head.writeUInt32BE(crc32c(body), 9);
  return Buffer.concat([head, body]);
}

/** The snapshot in a snapshot file's bytes, or a reason it is unreadable. */
export function decodeSnapshotFile(buf: Buffer): Snapshot | string {
  if (buf.length < 13 || buf.readUInt32BE(0) !== SNAP_MAGIC || buf[4] !== 1) return 'bad header';
  const len = buf.readUInt32BE(5);
  if (13 + len !== buf.length) return `length ${len} does not match the file (${buf.length - 13})`;
  const body = buf.subarray(13);
  if (crc32c(body) !== buf.readUInt32BE(9)) return 'CRC mismatch';
  try {
    return diskCodec.decodeSnapshot(body);
  } catch (err) {
    return String(err);
  }
}

export interface RaftIndexFile {
  firstIndex: number;
  prevTerm: number;
  closed?: {
    count: number;
    sizeBytes: number;
    nextOffset: number;
    maxTimestamp: number;
    runs: { start: number; term: number }[];
    rel: number[];
    pos: number[];
  };
}

export function encodeRaftIndexFile(f: RaftIndexFile): Buffer {
  const c = f.closed;
  const size = 4 + 1 + 1 + 16 + (c === undefined ? 0 : 28 + c.runs.length * 12 + 4 + c.rel.length * 8) + 4;
  const buf = Buffer.allocUnsafe(size);
  buf.writeUInt32BE(RIDX_MAGIC, 0);
  buf[4] = 1;
  buf[5] = c === undefined ? 0 : 1;
  writeU64(buf, 6, f.firstIndex);
  writeU64(buf, 14, f.prevTerm);
  let at = 22;
  if (c !== undefined) {
    buf.writeUInt32BE(c.count, at);
    buf.writeUInt32BE(c.sizeBytes, at + 4);
    writeU64(buf, at + 8, c.nextOffset);
    writeU64(buf, at + 16, c.maxTimestamp);
    buf.writeUInt32BE(c.runs.length, at + 24);
    at += 28;
    for (const r of c.runs) {
      buf.writeUInt32BE(r.start - f.firstIndex, at);
      writeU64(buf, at + 4, r.term);
      at += 12;
    }
    buf.writeUInt32BE(c.rel.length, at);
    at += 4;
    for (let i = 0; i < c.rel.length; i++) {
      buf.writeUInt32BE(c.rel[i]!, at);
      buf.writeUInt32BE(c.pos[i]!, at + 4);
      at += 8;
    }
  }
  buf.writeUInt32BE(crc32c(buf.subarray(0, at)), at);
  return buf;
}

/** A parsed `.ridx`, or null when it is malformed (never trusted then). */
export function decodeRaftIndexFile(buf: Buffer): RaftIndexFile | null {
  if (buf.length < 26 || buf.readUInt32BE(0) !== RIDX_MAGIC || buf[4] !== 1) return null;
  if (crc32c(buf.subarray(0, buf.length - 4)) !== buf.readUInt32BE(buf.length - 4)) return null;
  const firstIndex = readU64(buf, 6);
  const prevTerm = readU64(buf, 14);
  if (buf[5] === 0) return buf.length === 26 ? { firstIndex, prevTerm } : null;
  let at = 22;
  if (buf.length < at + 32) return null;
  const count = buf.readUInt32BE(at);
  const sizeBytes = buf.readUInt32BE(at + 4);
  const nextOffset = readU64(buf, at + 8);
  const maxTimestamp = readU64(buf, at + 16);
  const runCount = buf.readUInt32BE(at + 24);
  at += 28;
  if (buf.length < at + runCount * 12 + 8) return null;
  const runs: { start: number; term: number }[] = [];
  for (let k = 0; k < runCount; k++, at += 12) {
    runs.push({ start: firstIndex + buf.readUInt32BE(at), term: readU64(buf, at + 4) });
  }
  const points = buf.readUInt32BE(at);
  at += 4;
  if (buf.length !== at + points * 8 + 4) return null;
  const rel: number[] = [];
  const pos: number[] = [];
  for (let k = 0; k < points; k++, at += 8) {
    rel.push(buf.readUInt32BE(at));
    pos.push(buf.readUInt32BE(at + 4));
  }
  return { firstIndex, prevTerm, closed: { count, sizeBytes, nextOffset, maxTimestamp, runs, rel, pos } };
}
