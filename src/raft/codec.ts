/**
 * Binary forms of Raft data for the disk (LevelRaftStorage) and the wire (TcpTransport). msgpackr arrays,
 * not maps, so the field names never travel; decoders treat input as untrusted and throw
 * `MALFORMED_FRAME` instead of producing a half-valid object.
 *
 * entry    = [term, index, typeCode(0 normal | 1 conf-change), data: bin]
 * conf     = [voters: int[], learners: int[], outgoingVoters?: int[] (joint configurations only)]
 * snapshot = [index, term, conf, data: bin]
 * hard     = [term, vote, commit]
 * message  = [typeCode, from, to, term, logTerm, index, commit, reject(0|1), rejectHint, entries[],
 *             snapshot | null, context: bin | null, quiesce: 1?]
 *            (the 13th element only on a quiesce heartbeat: the bytes of every other message are as before it
 *            existed, and decoders that predate it ignore it, reading arrays by minimum length)
 * envelope = [groupId: string, message]
 */
import { Packr, RESERVE_START_SPACE } from 'msgpackr';
import { invariant, StreamBusError } from '../errors/index.js';
import { binHeader } from '../protocol/body.js';
import type { ConfState, Entry, HardState, Message, MessageType, Snapshot } from './core/types.js';

const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false });

export const MESSAGE_TYPES: readonly MessageType[] = [
  'app',
  'app-resp',
  'vote',
  'vote-resp',
  'pre-vote',
  'pre-vote-resp',
  'heartbeat',
  'heartbeat-resp',
  'snap',
  'prop',
  'timeout-now',
  'read-index',
  'read-index-resp',
];
const MESSAGE_CODE = new Map(MESSAGE_TYPES.map((t, i) => [t, i]));

export interface Envelope {
  /** The Raft group: many groups share one connection and one ticker. */
  readonly groupId: string;
  readonly message: Message;
}

function malformed(what: string): never {
  throw new StreamBusError('MALFORMED_FRAME', {
    operation: 'raft.decode',
    message: `malformed raft ${what}`,
  });
}

function uint(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) malformed(what);
  return v;
}

function bytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) malformed(what);
  return v;
}

function arr(v: unknown, what: string, minLength: number): unknown[] {
  if (!Array.isArray(v) || v.length < minLength) malformed(what);
  return v;
}

function entryToWire(e: Entry): unknown[] {
  return [e.term, e.index, e.type === 'normal' ? 0 : 1, e.data];
}

function entryFromWire(v: unknown): Entry {
  const a = arr(v, 'entry', 4);
  const code = uint(a[2], 'entry type');
  if (code > 1) malformed('entry type');
  return {
    term: uint(a[0], 'entry term'),
    index: uint(a[1], 'entry index'),
    type: code === 0 ? 'normal' : 'conf-change',
    data: bytes(a[3], 'entry data'),
  };
}

function confToWire(c: ConfState): unknown[] {
  const base = [[...c.voters], [...c.learners]];
  return c.votersOutgoing !== undefined && c.votersOutgoing.length > 0
    ? [...base, [...c.votersOutgoing]]
    : base;
}

function confFromWire(v: unknown): ConfState {
  const a = arr(v, 'conf state', 2);
  const base = {
    voters: arr(a[0], 'voters', 0).map((x) => uint(x, 'voter')),
    learners: arr(a[1], 'learners', 0).map((x) => uint(x, 'learner')),
  };
  if (a.length < 3) return base;
  return { ...base, votersOutgoing: arr(a[2], 'outgoing voters', 1).map((x) => uint(x, 'outgoing voter')) };
}

function snapshotToWire(s: Snapshot): unknown[] {
  return [s.metadata.index, s.metadata.term, confToWire(s.metadata.confState), s.data];
}

function snapshotFromWire(v: unknown): Snapshot {
  const a = arr(v, 'snapshot', 4);
  return {
    metadata: {
      index: uint(a[0], 'snapshot index'),
      term: uint(a[1], 'snapshot term'),
      confState: confFromWire(a[2]),
    },
    data: bytes(a[3], 'snapshot data'),
  };
}

function messageToWire(m: Message): unknown[] {
  return [
    MESSAGE_CODE.get(m.type),
    m.from,
    m.to,
    m.term,
    m.logTerm,
    m.index,
    m.commit,
    m.reject ? 1 : 0,
    m.rejectHint,
    m.entries.map(entryToWire),
    m.snapshot === undefined ? null : snapshotToWire(m.snapshot),
    m.context ?? null,
    ...(m.quiesce === true ? [1] : []),
  ];
}

function messageFromWire(v: unknown): Message {
  const a = arr(v, 'message', 12);
  const type = MESSAGE_TYPES[uint(a[0], 'message type')];
  if (type === undefined) malformed('message type');
  return {
    type,
    from: uint(a[1], 'from'),
    to: uint(a[2], 'to'),
    term: uint(a[3], 'term'),
    logTerm: uint(a[4], 'log term'),
    index: uint(a[5], 'index'),
    commit: uint(a[6], 'commit'),
    reject: uint(a[7], 'reject') === 1,
    rejectHint: uint(a[8], 'reject hint'),
    entries: arr(a[9], 'entries', 0).map(entryFromWire),
    ...(a[10] === null ? {} : { snapshot: snapshotFromWire(a[10]) }),
    ...(a[11] === null ? {} : { context: bytes(a[11], 'context') }),
    ...(a.length > 12 && uint(a[12], 'quiesce') === 1 ? { quiesce: true } : {}),
  };
}

/** Largest `headroomBytes` encodeEnvelopes accepts (msgpackr reserves it in an 8-bit field). */
export const ENVELOPE_HEADROOM_BYTES_MAX = 0xff;

/**
 * The envelopes' bytes, after `headroomBytes` of uninitialised space the caller may fill (the transport
 * writes its frame header there): a frame then costs no second copy of every entry's data.
 */
export function encodeEnvelopes(envs: readonly Envelope[], headroomBytes = 0): Buffer {
  invariant(
    Number.isInteger(headroomBytes) && headroomBytes >= 0 && headroomBytes <= ENVELOPE_HEADROOM_BYTES_MAX,
    () => `headroom ${headroomBytes} outside [0, ${ENVELOPE_HEADROOM_BYTES_MAX}]`,
  );
  const wire = envs.map((e) => [e.groupId, messageToWire(e.message)]);
  return headroomBytes === 0 ? packr.pack(wire) : packr.pack(wire, RESERVE_START_SPACE | headroomBytes);
}

/** Entry data at least this large is referenced by `encodeEnvelopeChunks` instead of copied. */
export const ENTRY_DATA_BY_REFERENCE_BYTES_MIN = 16 * 1024;

/** Whether `encodeEnvelopeChunks` would reference some entry's data rather than copy it. */
export function hasLargeEntryData(envs: readonly Envelope[]): boolean {
  for (const e of envs) {
    for (const entry of e.message.entries) {
      if (entry.data.byteLength >= ENTRY_DATA_BY_REFERENCE_BYTES_MIN) return true;
    }
  }
  return false;
}

/**
 * The bytes of `encodeEnvelopes(envs, headroomBytes)`, as a list of buffers whose concatenation is exactly
 * those bytes: entry data of at least ENTRY_DATA_BY_REFERENCE_BYTES_MIN is referenced, not copied, so a
 * replicated megabyte batch goes to each follower without a copy or an allocation of its size (those
 * allocations made V8 run a full GC every few batches). The first buffer is always freshly allocated and
 * starts with the headroom. The caller must not change the referenced entry data until it is written.
 */
export function encodeEnvelopeChunks(envs: readonly Envelope[], headroomBytes = 0): Buffer[] {
  const w = new ChunkWriter(headroomBytes);
  w.bytes(arrayHeader(envs.length));
  for (const env of envs) {
    const m = env.message;
    w.bytes(ENVELOPE_HEAD);
    w.bytes(packr.pack(env.groupId));
    w.bytes(m.quiesce === true ? QUIESCE_MESSAGE_HEAD : MESSAGE_HEAD);
    w.fields([
      MESSAGE_CODE.get(m.type),
      m.from,
      m.to,
      m.term,
      m.logTerm,
      m.index,
      m.commit,
      m.reject ? 1 : 0,
      m.rejectHint,
    ]);
    w.bytes(arrayHeader(m.entries.length));
    for (const e of m.entries) {
      w.bytes(ENTRY_HEAD);
      w.fields([e.term, e.index, e.type === 'normal' ? 0 : 1]);
      if (e.data.byteLength >= ENTRY_DATA_BY_REFERENCE_BYTES_MIN) {
        w.bytes(binHeader(e.data.byteLength));
        w.reference(e.data);
      } else w.bytes(packr.pack(e.data));
    }
    w.fields([m.snapshot === undefined ? null : snapshotToWire(m.snapshot), m.context ?? null]);
    if (m.quiesce === true) w.fields([1]);
  }
  return w.finish();
}

// msgpack headers of the fixed-size arrays in the grammar above (fixarray: 0x90 | length).
const ENVELOPE_HEAD = Uint8Array.of(0x92);
const MESSAGE_HEAD = Uint8Array.of(0x9c);
const QUIESCE_MESSAGE_HEAD = Uint8Array.of(0x9d);
const ENTRY_HEAD = Uint8Array.of(0x94);

/** The msgpack array header msgpackr writes for `n` elements. */
function arrayHeader(n: number): Uint8Array {
  if (n < 0x10) return Uint8Array.of(0x90 | n);
  const b = Buffer.allocUnsafe(n < 0x10000 ? 3 : 5);
  if (n < 0x10000) {
    b[0] = 0xdc;
    b.writeUInt16BE(n, 1);
  } else {
    b[0] = 0xdd;
    b.writeUInt32BE(n, 1);
  }
  return b;
}

/** Small pieces are gathered into one buffer; large entry data stands alone between them. */
class ChunkWriter {
  private readonly chunks: Buffer[] = [];
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;

  constructor(headroomBytes: number) {
    invariant(
      Number.isInteger(headroomBytes) && headroomBytes >= 0 && headroomBytes <= ENVELOPE_HEADROOM_BYTES_MAX,
      () => `headroom ${headroomBytes} outside [0, ${ENVELOPE_HEADROOM_BYTES_MAX}]`,
    );
    // Always a first piece, so the first chunk is a fresh buffer the caller may write its header into.
    this.bytes(new Uint8Array(headroomBytes));
  }

  bytes(b: Uint8Array): void {
    this.pending.push(b);
    this.pendingBytes += b.byteLength;
  }

  /** The elements of a fixarray (at most 15 values) without its one-byte header. */
  fields(values: readonly unknown[]): void {
    invariant(values.length < 0x10, 'fields() packs a fixarray');
    this.bytes(packr.pack(values).subarray(1));
  }

  reference(data: Uint8Array): void {
    this.cut();
    this.chunks.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  finish(): Buffer[] {
    this.cut();
    return this.chunks;
  }

  // The first cut always has pending bytes (the headroom and the envelope count), so the first chunk is a
  // fresh buffer.
  private cut(): void {
    if (this.pendingBytes === 0) return;
    this.chunks.push(Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    this.pendingBytes = 0;
  }
}

export function decodeEnvelopes(buf: Uint8Array): Envelope[] {
  let v: unknown;
  try {
    v = packr.unpack(buf);
  } catch (cause) {
    throw new StreamBusError('MALFORMED_FRAME', { operation: 'raft.decode', cause });
  }
  return arr(v, 'envelopes', 0).map((x) => {
    const a = arr(x, 'envelope', 2);
    if (typeof a[0] !== 'string') malformed('group id');
    return { groupId: a[0], message: messageFromWire(a[1]) };
  });
}

export function encodeValue(v: unknown): Uint8Array {
  return packr.pack(v);
}

function unpack(buf: Uint8Array, what: string): unknown {
  try {
    return packr.unpack(buf);
  } catch (cause) {
    throw new StreamBusError('CORRUPT_LOG', {
      operation: 'raft.storage.decode',
      cause,
      message: `corrupt ${what}`,
    });
  }
}

export const diskCodec = {
  encodeEntry: (e: Entry): Uint8Array => packr.pack(entryToWire(e)),
  decodeEntry: (b: Uint8Array): Entry => entryFromWire(unpack(b, 'entry')),
  encodeSnapshot: (s: Snapshot): Uint8Array => packr.pack(snapshotToWire(s)),
  decodeSnapshot: (b: Uint8Array): Snapshot => snapshotFromWire(unpack(b, 'snapshot')),
  encodeHardState: (h: HardState): Uint8Array => packr.pack([h.term, h.vote, h.commit]),
  decodeHardState: (b: Uint8Array): HardState => {
    const a = arr(unpack(b, 'hard state'), 'hard state', 3);
    return { term: uint(a[0], 'term'), vote: uint(a[1], 'vote'), commit: uint(a[2], 'commit') };
  },
};
