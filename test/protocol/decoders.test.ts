/**
 * Every request and response decoder rejects each wrong or missing field with INVALID_REQUEST whose message
 * names the field by its path (`Produce.partitions[0].partition must be ...`).
 */
import { describe, expect, it } from 'vitest';
import { StreamBusError } from '../../src/errors/index.js';
import { API_NAMES, ApiKey, codecFor, decodeRequestBody, packBody } from '../../src/protocol/index.js';
import { ARRAY_LENGTH_MAX, NAME_CHARS_MAX } from '../../src/protocol/limits.js';
import { SAMPLES } from './samples.js';
import { getAt, leafAndNodePaths, renderPath, withAt, wrongTypeFor } from './wire-paths.js';

function thrown(fn: () => unknown): StreamBusError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StreamBusError);
    return err as StreamBusError;
  }
  throw new Error('expected a throw');
}

for (const sample of Object.values(SAMPLES)) {
  const apiKey = sample.apiKey as ApiKey;
  const codec = codecFor(apiKey, 0);
  const name = API_NAMES[apiKey];
  const sides = [
    {
      side: 'request',
      root: name,
      wire: codec.encodeRequest(sample.request as never),
      decode: codec.decodeRequest,
    },
    {
      side: 'response',
      root: `${name}Response`,
      wire: codec.encodeResponse(sample.response as never),
      decode: codec.decodeResponse,
    },
  ];
  describe(`${name} v0 decoders`, () => {
    for (const { side, root, wire, decode } of sides) {
      it(`${side}: a non-map body is INVALID_REQUEST naming ${root}`, () => {
        for (const bad of [null, 1, 'x', [], Buffer.from('x'), new Date(0)]) {
          const err = thrown(() => decode(bad));
          expect(err.code).toBe('INVALID_REQUEST');
          expect(err.message).toBe(`${root} must be a map`);
        }
      });
      it(`${side}: each field of the wrong type is rejected with a message naming the field`, () => {
        const paths = leafAndNodePaths(wire);
        // Only the empty request bodies (ApiVersions, ListTopics) have no fields to corrupt.
        expect(paths.length > 0 || Object.keys(wire as object).length === 0).toBe(true);
        for (const path of paths) {
          const bad = withAt(wire, path, wrongTypeFor(getAt(wire, path)));
          const err = thrown(() => decode(bad));
          expect(err.code, renderPath(root, path)).toBe('INVALID_REQUEST');
          expect(err.message.startsWith(`${renderPath(root, path)} must be`), err.message).toBe(true);
        }
      });
      it(`${side}: each missing field is rejected with a message naming the field`, () => {
        // Config maps (CreateTopics configs, AlterConfigs set) are open-ended: a missing config key is legal,
        // so only fixed fields are checked.
        const paths = leafAndNodePaths(wire).filter(
          (p) => typeof p.at(-1) === 'string' && !p.includes('configs') && p.at(-2) !== 'set',
        );
        for (const path of paths) {
          const err = thrown(() => decode(withAt(wire, path, undefined)));
          expect(err.message.startsWith(`${renderPath(root, path)} must be`), err.message).toBe(true);
        }
      });
      it(`${side}: extra unknown keys are ignored (forward compatible)`, () => {
        const extended = { ...(wire as Record<string, unknown>), addedInV1: [1, 2, 3] };
        expect(decode(extended)).toEqual(side === 'request' ? sample.request : sample.response);
      });
    }
  });
}

describe('field constraints beyond type', () => {
  const produce = codecFor(0 as ApiKey, 0);
  const wire = produce.encodeRequest(SAMPLES[0].request) as Record<string, unknown>;

  it('acks other than 0, 1, -1 is INVALID_ACKS', () => {
    const err = thrown(() => produce.decodeRequest({ ...wire, acks: 2 }));
    expect(err.code).toBe('INVALID_ACKS');
    expect(err.message).toContain('Produce.acks');
  });
  it('a negative partition is rejected as not a non-negative int32', () => {
    const err = thrown(() => produce.decodeRequest(withAt(wire, ['partitions', 0, 'partition'], -1)));
    expect(err.message).toBe('Produce.partitions[0].partition must be a non-negative int32');
  });
  it('a partition above int32 and a fractional one are rejected', () => {
    for (const bad of [2 ** 31, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const err = thrown(() => produce.decodeRequest(withAt(wire, ['partitions', 0, 'partition'], bad)));
      expect(err.code).toBe('INVALID_REQUEST');
    }
  });
  it('a fetch offset beyond the safe integer range is rejected', () => {
    const fetch = codecFor(1 as ApiKey, 0);
    const fw = fetch.encodeRequest(SAMPLES[1].request);
    const err = thrown(() => fetch.decodeRequest(withAt(fw, ['partitions', 0, 'fetchOffset'], 2 ** 60)));
    expect(err.message).toBe('Fetch.partitions[0].fetchOffset must be a safe integer >= 0');
  });
  it('arrays longer than ARRAY_LENGTH_MAX are rejected before their elements are read', () => {
    const err = thrown(() =>
      produce.decodeRequest({ ...wire, partitions: new Array(ARRAY_LENGTH_MAX + 1).fill(0) }),
    );
    expect(err.message).toBe(`Produce.partitions must be an array of at most ${ARRAY_LENGTH_MAX} elements`);
  });
  it('strings longer than NAME_CHARS_MAX are rejected', () => {
    const long = 'x'.repeat(NAME_CHARS_MAX + 1);
    const err = thrown(() => produce.decodeRequest(withAt(wire, ['partitions', 0, 'topic'], long)));
    expect(err.message).toBe(
      `Produce.partitions[0].topic must be a string of at most ${NAME_CHARS_MAX} characters`,
    );
  });
  it('a msgpack key named __proto__ cannot smuggle a field through the prototype', () => {
    const body = Buffer.concat([Buffer.from([0x81, 0xa9]), Buffer.from('__proto__'), packBody({ acks: 1 })]);
    const err = thrown(() => decodeRequestBody(0 as ApiKey, 0, body));
    expect(err.code).toBe('INVALID_REQUEST');
  });
  it('Metadata accepts nil topics as "all topics"', () => {
    expect(codecFor(3 as ApiKey, 0).decodeRequest({ topics: null })).toEqual({ topics: null });
  });
});

describe('zero-copy decoding', () => {
  it('record bytes in a decoded Produce body are a view of the frame, not a copy', () => {
    const body = packBody(codecFor(0 as ApiKey, 0).encodeRequest(SAMPLES[0].request));
    const decoded = decodeRequestBody(0 as ApiKey, 0, body) as (typeof SAMPLES)[0]['request'];
    const records = decoded.partitions[0]!.records;
    expect(records.buffer).toBe(body.buffer);
    expect(records.equals(SAMPLES[0].request.partitions[0]!.records)).toBe(true);
  });
});

describe('body and routing errors', () => {
  it('an empty, truncated or trailing-garbage body is INVALID_REQUEST', () => {
    const good = packBody({ topics: ['a'] });
    for (const bad of [
      Buffer.alloc(0),
      good.subarray(0, good.length - 1),
      Buffer.concat([good, Buffer.from([0])]),
    ]) {
      expect(thrown(() => decodeRequestBody(3 as ApiKey, 0, bad)).code).toBe('INVALID_REQUEST');
    }
  });
  it('an unknown api key is UNKNOWN_API and an unsupported version is UNSUPPORTED_VERSION', () => {
    expect(thrown(() => decodeRequestBody(999, 0, packBody({}))).code).toBe('UNKNOWN_API');
    expect(thrown(() => decodeRequestBody(4, 1, packBody({}))).code).toBe('UNSUPPORTED_VERSION');
  });
});

describe('DescribeCluster response constraints', () => {
  const codec = codecFor(ApiKey.DescribeCluster, 0);
  const wire = codec.encodeResponse(SAMPLES[9].response);

  it('a broker state outside the registry states is rejected naming the field', () => {
    const err = thrown(() => codec.decodeResponse(withAt(wire, ['brokers', 0, 'state'], 'zombie')));
    expect(err.message).toBe(
      'DescribeClusterResponse.brokers[0].state must be one of starting, alive, draining, failed, decommissioned',
    );
  });
  it('imbalance scores keep their fractions but NaN, infinities and negatives are rejected', () => {
    expect(codec.decodeResponse(wire).imbalance).toEqual({
      score: 0.5,
      replicaScore: 0.5,
      leaderScore: 0.25,
    });
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -0.5]) {
      const err = thrown(() => codec.decodeResponse(withAt(wire, ['imbalance', 'score'], bad)));
      expect(err.message).toBe('DescribeClusterResponse.imbalance.score must be a finite number >= 0');
    }
  });
  it('metadataLeaderId may be -1 (no leader known) but not below', () => {
    expect(codec.decodeResponse(withAt(wire, ['metadataLeaderId'], -1)).metadataLeaderId).toBe(-1);
    const err = thrown(() => codec.decodeResponse(withAt(wire, ['metadataLeaderId'], -2)));
    expect(err.message).toBe('DescribeClusterResponse.metadataLeaderId must be an int32 >= -1');
  });
});

describe('DescribeTopics v2 response: a reassignment target', () => {
  const codec = codecFor(ApiKey.DescribeTopics, 2);
  const response = SAMPLES[ApiKey.DescribeTopics].response;

  it('a partition without a reassignment in progress is nil on the wire and has no targetReplicas', () => {
    const wire = codec.encodeResponse(response);
    expect(getAt(wire, ['topics', 0, 'partitions', 0, 'targetReplicas'])).toBeNull();
    const decoded = codec.decodeResponse(wire).topics[0]?.partitions[0];
    expect(decoded).toEqual({ ...response.topics[0]?.partitions[0], pinned: false });
    expect(Object.hasOwn(decoded ?? {}, 'targetReplicas')).toBe(false);
  });
  it('a target that is not a list of broker ids is rejected naming the field', () => {
    const wire = withAt(
      codec.encodeResponse(response),
      ['topics', 0, 'partitions', 0, 'targetReplicas'],
      'x',
    );
    expect(thrown(() => codec.decodeResponse(wire)).message).toMatch(/partitions\.targetReplicas/);
  });
});
