import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStreamBusError } from '../../src/errors/index.js';
import { FrameDecoder } from '../../src/protocol/frame-decoder.js';
import {
  decodeEnvelopes,
  ENTRY_DATA_BY_REFERENCE_BYTES_MIN,
  type Envelope,
  encodeEnvelopeChunks,
  encodeEnvelopes,
  MESSAGE_TYPES,
} from '../../src/raft/codec.js';
import { decodeConfEntry, encodeConfChange, newMessage } from '../../src/raft/core/index.js';
import { encodeEnterJoint, encodeLeaveJoint } from '../../src/raft/core/quorum.js';
import {
  encodeFrame,
  FRAME_HEADER_BYTES,
  FRAME_MESSAGES,
  FrameError,
  frameInPlace,
  parseFrame,
} from '../../src/raft/transport/frame.js';

const sample: Envelope = {
  groupId: 'meta',
  message: newMessage('app', 1, 2, {
    term: 3,
    logTerm: 2,
    index: 7,
    commit: 6,
    entries: [{ term: 3, index: 8, type: 'normal', data: new Uint8Array([0xde, 0xad]) }],
  }),
};

describe('raft wire codec', () => {
  it('pins the encoded bytes of an append envelope (a format change must be deliberate)', () => {
    expect(Buffer.from(encodeEnvelopes([sample])).toString('hex')).toBe(
      '9192a46d6574619c0001020302070600009194030800c402deadc0c0',
    );
  });

  it('a frame built in the encoder headroom is byte-identical to one built by copying, and stays intact after later encodes', () => {
    const big: Envelope = {
      groupId: 'p-0',
      message: newMessage('app', 1, 2, {
        term: 3,
        index: 7,
        entries: [{ term: 3, index: 8, type: 'normal', data: new Uint8Array(300_000).fill(0xab) }],
      }),
    };
    for (const envs of [[sample], [big, sample], [big]]) {
      const inPlace = frameInPlace(FRAME_MESSAGES, encodeEnvelopes(envs, FRAME_HEADER_BYTES));
      const snapshot = Buffer.from(inPlace);
      expect(inPlace.equals(encodeFrame(FRAME_MESSAGES, encodeEnvelopes(envs)))).toBe(true);
      // The encoder continues in its buffer after what it returned: a queued frame must not change.
      encodeEnvelopes([big, big], FRAME_HEADER_BYTES);
      expect(inPlace.equals(snapshot)).toBe(true);
    }
  });

  it('the chunked encoding is byte-identical to encodeEnvelopes and references large entry data (seeded)', () => {
    const seed = 20261126;
    console.log(`chunked codec seed ${seed}`);
    const big = ENTRY_DATA_BY_REFERENCE_BYTES_MIN;
    const uint = fc.oneof(fc.nat(300), fc.nat(70_000), fc.maxSafeNat());
    const data = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.integer({ min: big - 1, max: big + 70_000 }).map((n) => new Uint8Array(n).fill(n & 0xff)),
    );
    const entry = fc.record({
      term: uint,
      index: uint,
      type: fc.constantFrom('normal' as const, 'conf-change' as const),
      data,
    });
    const envelope = fc.record({
      groupId: fc.string({ maxLength: 40 }),
      type: fc.constantFrom(...MESSAGE_TYPES),
      from: uint,
      to: uint,
      term: uint,
      commit: uint,
      reject: fc.boolean(),
      entries: fc.array(entry, { maxLength: 20 }),
      context: fc.option(fc.uint8Array({ maxLength: 20 }), { nil: undefined }),
      snap: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(envelope, { maxLength: 20 }), fc.nat(16), (specs, headroom) => {
        const envs: Envelope[] = specs.map((x) => ({
          groupId: x.groupId,
          message: newMessage(x.type, x.from, x.to, {
            term: x.term,
            logTerm: x.term,
            index: x.commit,
            commit: x.commit,
            reject: x.reject,
            rejectHint: x.commit,
            entries: x.entries,
            context: x.context,
            snapshot: x.snap
              ? {
                  metadata: { index: x.commit, term: x.term, confState: { voters: [1], learners: [] } },
                  data: x.context ?? new Uint8Array(),
                }
              : undefined,
          }),
        }));
        const chunks = encodeEnvelopeChunks(envs, headroom);
        const whole = Buffer.concat(chunks);
        const copied = encodeEnvelopes(envs, headroom);
        expect(whole.length).toBe(copied.length);
        expect(whole.subarray(headroom).equals(copied.subarray(headroom))).toBe(true);
        expect(chunks[0]!.length).toBeGreaterThanOrEqual(headroom + 1);
        for (const x of envs.flatMap((e) => e.message.entries)) {
          const referenced = chunks.some(
            (c) => c.buffer === x.data.buffer && c.byteOffset === x.data.byteOffset,
          );
          expect(referenced).toBe(x.data.byteLength >= big);
        }
      }),
      { seed, numRuns: 150 },
    );
  });

  it('round-trips every message type with snapshots and contexts', () => {
    const envs: Envelope[] = MESSAGE_TYPES.map((type, i) => ({
      groupId: `g${i}`,
      message: newMessage(type, 1 + i, 2, {
        term: i,
        reject: i % 2 === 0,
        rejectHint: i,
        context: new Uint8Array([i]),
        snapshot:
          type === 'snap'
            ? {
                metadata: { index: 9, term: 2, confState: { voters: [1, 2], learners: [3] } },
                data: new Uint8Array([7]),
              }
            : undefined,
        entries: [{ term: 1, index: 1, type: 'conf-change', data: new Uint8Array([1, 2]) }],
      }),
    }));
    const back = decodeEnvelopes(encodeEnvelopes(envs));
    expect(back.map((e) => e.groupId)).toEqual(envs.map((e) => e.groupId));
    for (let i = 0; i < envs.length; i++) {
      const a = envs[i]!.message;
      const b = back[i]!.message;
      expect(b.type).toBe(a.type);
      expect(b.reject).toBe(a.reject);
      expect([...(b.context ?? [])]).toEqual([...(a.context ?? [])]);
      expect(b.snapshot?.metadata).toEqual(a.snapshot?.metadata);
      expect([...b.entries[0]!.data]).toEqual([1, 2]);
    }
  });

  it('rejects garbage with MALFORMED_FRAME and never throws anything else (seeded fuzz)', () => {
    const seed = 20261125;
    console.log(`codec fuzz seed ${seed}`);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeEnvelopes(bytes);
        } catch (err) {
          if (!isStreamBusError(err, 'MALFORMED_FRAME')) throw err;
        }
      }),
      { seed, numRuns: 2000 },
    );
    const valid = encodeEnvelopes([sample]);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: valid.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        (at, byte) => {
          const mutated = Uint8Array.from(valid);
          mutated[at] = byte;
          try {
            decodeEnvelopes(mutated);
          } catch (err) {
            if (!isStreamBusError(err, 'MALFORMED_FRAME')) throw err;
          }
        },
      ),
      { seed, numRuns: 2000 },
    );
  });

  it('rejects a message with a wrong field type', () => {
    const bad = encodeEnvelopes([sample]);
    // Replace the numeric 'from' (index 1 of the message array) with a string by re-encoding by hand.
    const hex = Buffer.from(bad).toString('hex');
    expect(hex).toContain('9c000102');
    const tampered = Buffer.from(hex.replace('9c000102', '9c00a13102'), 'hex');
    let caught: unknown;
    try {
      decodeEnvelopes(tampered);
    } catch (err) {
      caught = err;
    }
    expect(isStreamBusError(caught, 'MALFORMED_FRAME')).toBe(true);
  });
});

describe('membership entry payloads', () => {
  it('round-trip simple, enter-joint and leave-joint changes, and refuse anything else', () => {
    const add = { type: 'add-voter' as const, nodeId: 7 };
    const rm = { type: 'remove' as const, nodeId: 2 };
    expect(decodeConfEntry(encodeConfChange(add))).toEqual({ kind: 'simple', change: add });
    expect(decodeConfEntry(encodeEnterJoint([add, rm]))).toEqual({ kind: 'enter-joint', changes: [add, rm] });
    expect(decodeConfEntry(encodeLeaveJoint())).toEqual({ kind: 'leave-joint' });
    expect([...encodeEnterJoint([add])]).toEqual([0x80, 1, 1, 0, 0, 0, 7]);
    for (const bad of [[], [9, 0, 0, 0, 1], [0x80, 2, 1, 0, 0, 0, 7], [0x82], [0x80]]) {
      expect(decodeConfEntry(new Uint8Array(bad))).toBeUndefined();
    }
  });

  it('carries a joint configuration inside a snapshot on the wire', () => {
    const conf = { voters: [1, 4], learners: [5], votersOutgoing: [1, 2, 3] };
    const env: Envelope = {
      groupId: 'g',
      message: newMessage('snap', 1, 2, {
        term: 3,
        snapshot: { metadata: { index: 10, term: 3, confState: conf }, data: new Uint8Array() },
      }),
    };
    expect(decodeEnvelopes(encodeEnvelopes([env]))[0]!.message.snapshot?.metadata.confState).toEqual(conf);
  });
});

describe('raft frames through the protocol frame decoder', () => {
  it('reassembles frames split across arbitrary chunk boundaries', () => {
    const frames = [
      encodeFrame(FRAME_MESSAGES, new Uint8Array([1, 2, 3])),
      encodeFrame(FRAME_MESSAGES, new Uint8Array(300)),
    ];
    const all = Buffer.concat(frames);
    for (let cut = 1; cut < all.length; cut += 7) {
      const d = new FrameDecoder({ frameBytesMax: 1024 });
      const out = [...d.push(all.subarray(0, cut)), ...d.push(all.subarray(cut))].map(parseFrame);
      expect(out.map((f) => [f.kind, f.payload.byteLength])).toEqual([
        [FRAME_MESSAGES, 3],
        [FRAME_MESSAGES, 300],
      ]);
    }
  });

  it('rejects a declared length above the limit before buffering the body', () => {
    const d = new FrameDecoder({ frameBytesMax: 1024 });
    const head = Buffer.alloc(5);
    head.writeUInt32BE(0xfffffff0, 0);
    expect(() => d.push(head)).toThrow(/exceeds frameBytesMax/);
  });

  it('rejects an unknown kind', () => {
    const [body] = new FrameDecoder({ frameBytesMax: 64 }).push(Buffer.from([0, 0, 0, 1, 99]));
    expect(() => parseFrame(body!)).toThrow(FrameError);
  });
});
