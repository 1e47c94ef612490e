import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  type Subscription,
  type TopicPartition,
} from '../../../src/client/assignors/index.js';
import { isStreamBusError } from '../../../src/errors/index.js';
import { numRuns, seed, tp } from './helpers.js';

function sorted(list: TopicPartition[]): TopicPartition[] {
  return [...list].sort((a, b) =>
    a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition,
  );
}

function expectInvalid(decode: () => unknown): void {
  try {
    decode();
  } catch (err) {
    expect(isStreamBusError(err, 'INVALID_REQUEST'), String(err)).toBe(true);
    return;
  }
  expect.fail('decoded malformed input');
}

/** Decoding may succeed or throw INVALID_REQUEST; any other throw (TypeError, RangeError) is a bug. */
function decodesOrRejects(decode: () => unknown): boolean {
  try {
    decode();
    return true;
  } catch (err) {
    return isStreamBusError(err, 'INVALID_REQUEST');
  }
}

const topicArb = fc.string({ minLength: 1, maxLength: 20 });
const partitionsArb = fc
  .uniqueArray(fc.tuple(topicArb, fc.integer({ min: 0, max: 2 ** 31 - 1 })), {
    selector: ([t, p]) => `${t}\u0000${p}`,
    maxLength: 30,
  })
  .map((pairs) => pairs.map(([topic, partition]) => tp(topic, partition)));
const userDataArb = fc.option(
  fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
  { nil: undefined },
);

describe('assignor codec', () => {
  it('pins the encoded bytes of version 1 so a format change is deliberate', () => {
    expect(encodeAssignment([tp('users', 2), tp('orders', 1), tp('orders', 0)]).toString('hex')).toBe(
      '93019292a66f726465727392000192a575736572739102c0',
    );
    const subscription = {
      topics: ['users', 'orders'],
      ownedPartitions: [tp('orders', 0)],
      generation: 3,
      userData: Buffer.from('hi'),
    };
    expect(encodeSubscription(subscription).toString('hex')).toBe(
      '950192a66f7264657273a575736572739192a66f7264657273910003c4026869',
    );
  });

  it('round-trips any subscription (topics and partitions come back sorted)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(topicArb, { maxLength: 10 }),
        partitionsArb,
        fc.integer({ min: -1, max: 2 ** 31 - 1 }),
        userDataArb,
        (topics, ownedPartitions, generation, userData) => {
          const s: Subscription = { topics, ownedPartitions, generation };
          if (userData !== undefined) s.userData = userData;
          const decoded = decodeSubscription(encodeSubscription(s));
          const expected: Subscription = {
            topics: [...topics].sort(),
            ownedPartitions: sorted(ownedPartitions),
            generation,
          };
          if (userData !== undefined) expected.userData = userData;
          expect(decoded).toEqual(expected);
        },
      ),
      { seed, numRuns },
    );
  });

  it('round-trips any assignment', () => {
    fc.assert(
      fc.property(partitionsArb, userDataArb, (partitions, userData) => {
        const decoded = decodeAssignment(encodeAssignment(partitions, userData));
        expect(decoded).toEqual(
          userData === undefined
            ? { partitions: sorted(partitions) }
            : { partitions: sorted(partitions), userData },
        );
      }),
      { seed, numRuns },
    );
  });

  it('decodes an empty buffer as an empty assignment (a member the leader gave nothing)', () => {
    expect(decodeAssignment(Buffer.alloc(0))).toEqual({ partitions: [] });
  });

  it('copies userData out of the input buffer', () => {
    const bytes = encodeAssignment([], Buffer.from([1, 2, 3]));
    const decoded = decodeAssignment(bytes);
    bytes.fill(0);
    expect(decoded.userData).toEqual(Buffer.from([1, 2, 3]));
  });

  it('reads later versions that append fields', () => {
    expect(decodeAssignment(pack([2, [['t', [1]]], null, 'future field']))).toEqual({
      partitions: [tp('t', 1)],
    });
    expect(decodeSubscription(pack([7, ['t'], [], -1, null, { more: true }]))).toEqual({
      topics: ['t'],
      ownedPartitions: [],
      generation: -1,
    });
  });

  const malformedAssignments: [string, unknown][] = [
    ['not an array', { partitions: [] }],
    ['too few fields', [1, []]],
    ['version 0', [0, [], null]],
    ['non-integer version', [1.5, [], null]],
    ['partitions not a list', [1, 'x', null]],
    ['entry not a pair', [1, [['t']], null]],
    ['empty topic', [1, [['', [0]]], null]],
    ['topic not a string', [1, [[7, [0]]], null]],
    ['negative partition', [1, [['t', [-1]]], null]],
    ['fractional partition', [1, [['t', [0.5]]], null]],
    ['partition too large', [1, [['t', [2 ** 31]]], null]],
    ['partition as string', [1, [['t', ['0']]], null]],
    ['duplicate partition', [1, [['t', [1, 1]]], null]],
    [
      'duplicate topic',
      [
        1,
        [
          ['t', [0]],
          ['t', [1]],
        ],
        null,
      ],
    ],
    ['userData not bytes', [1, [], 'abc']],
  ];
  for (const [name, value] of malformedAssignments) {
    it(`rejects a malformed assignment with INVALID_REQUEST: ${name}`, () => {
      expectInvalid(() => decodeAssignment(pack(value)));
    });
  }

  const malformedSubscriptions: [string, unknown][] = [
    ['too few fields', [1, ['t'], [], -1]],
    ['topics not a list', [1, 't', [], -1, null]],
    ['duplicate topic', [1, ['t', 't'], [], -1, null]],
    ['generation below -1', [1, ['t'], [], -2, null]],
    ['generation not a number', [1, ['t'], [], '1', null]],
    ['generation too large', [1, ['t'], [], 2 ** 31, null]],
    ['owned partitions malformed', [1, ['t'], [['t', [-3]]], 1, null]],
  ];
  for (const [name, value] of malformedSubscriptions) {
    it(`rejects a malformed subscription with INVALID_REQUEST: ${name}`, () => {
      expectInvalid(() => decodeSubscription(pack(value)));
    });
  }

  it('rejects an empty subscription, truncated bytes and trailing bytes', () => {
    expectInvalid(() => decodeSubscription(Buffer.alloc(0)));
    const bytes = encodeSubscription({ topics: ['t'], ownedPartitions: [tp('t', 0)], generation: 1 });
    expectInvalid(() => decodeSubscription(bytes.subarray(0, bytes.length - 1)));
    expectInvalid(() => decodeSubscription(Buffer.concat([bytes, Buffer.from([0])])));
  });

  it('rejects invalid values on encode instead of writing bytes peers cannot read', () => {
    expectInvalid(() => encodeAssignment([tp('t', -1)]));
    expectInvalid(() => encodeAssignment([tp('', 0)]));
    expectInvalid(() => encodeSubscription({ topics: ['t'], ownedPartitions: [], generation: 1.5 }));
  });

  it('never throws anything but INVALID_REQUEST on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const b = Buffer.from(bytes);
        expect(decodesOrRejects(() => decodeSubscription(b))).toBe(true);
        expect(decodesOrRejects(() => decodeAssignment(b))).toBe(true);
      }),
      { seed, numRuns: numRuns * 10 },
    );
  });

  it('never throws anything but INVALID_REQUEST on any msgpack value or a mutated valid encoding', () => {
    const valid = encodeSubscription({ topics: ['a', 'b'], ownedPartitions: [tp('a', 3)], generation: 2 });
    fc.assert(
      fc.property(
        fc.anything(),
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.nat(255)), { maxLength: 4 }),
        (value, flips) => {
          const packed = pack(value);
          expect(decodesOrRejects(() => decodeSubscription(packed))).toBe(true);
          expect(decodesOrRejects(() => decodeAssignment(packed))).toBe(true);
          const mutated = Buffer.from(valid);
          for (const [at, byte] of flips) mutated[at] = byte;
          expect(decodesOrRejects(() => decodeSubscription(mutated))).toBe(true);
          expect(decodesOrRejects(() => decodeAssignment(mutated))).toBe(true);
        },
      ),
      { seed, numRuns },
    );
  });
});
