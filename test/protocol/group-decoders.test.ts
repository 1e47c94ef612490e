/**
 * The consumer-group decoders enforce the rules beyond field types that the coordinator relies on: group ids
 * are non-empty and bounded, generations and offsets never go below their sentinel, subscriptions and
 * assignments are bytes, and nil is accepted exactly where the types say so (a missing field is not nil).
 * The per-field type and missing-field checks for every API live in decoders.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { StreamBusError } from '../../src/errors/index.js';
import {
  GROUP_ID_CHARS_MAX,
  MEMBER_ID_CHARS_MAX,
  OFFSET_METADATA_CHARS_MAX,
} from '../../src/protocol/apis/group-fields.js';
import {
  ApiKey,
  CLIENT_ID_BYTES_MAX,
  codecFor,
  decodeRequestBody,
  decodeRequestFrame,
  encodeRequest,
  FrameDecoder,
  packBody,
} from '../../src/protocol/index.js';
import { GROUP_SAMPLES } from './group-samples.js';
import { type PathStep, withAt } from './wire-paths.js';

function rejection(fn: () => unknown): StreamBusError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StreamBusError);
    return err as StreamBusError;
  }
  throw new Error('expected a throw');
}

const joinGroup = codecFor(ApiKey.JoinGroup, 0);
const syncGroup = codecFor(ApiKey.SyncGroup, 0);
const heartbeat = codecFor(ApiKey.Heartbeat, 0);
const leaveGroup = codecFor(ApiKey.LeaveGroup, 0);
const offsetCommit = codecFor(ApiKey.OffsetCommit, 0);
const offsetFetch = codecFor(ApiKey.OffsetFetch, 0);

const joinWire = joinGroup.encodeRequest(GROUP_SAMPLES[ApiKey.JoinGroup].request);
const syncWire = syncGroup.encodeRequest(GROUP_SAMPLES[ApiKey.SyncGroup].request);
const heartbeatWire = heartbeat.encodeRequest(GROUP_SAMPLES[ApiKey.Heartbeat].request);
const leaveWire = leaveGroup.encodeRequest(GROUP_SAMPLES[ApiKey.LeaveGroup].request);
const commitWire = offsetCommit.encodeRequest(GROUP_SAMPLES[ApiKey.OffsetCommit].request);
const fetchWire = offsetFetch.encodeRequest(GROUP_SAMPLES[ApiKey.OffsetFetch].request);

/** Every place a request carries a group id, with the field path the error must name. */
const groupIdSites: { apiKey: ApiKey; path: PathStep[]; named: string }[] = [
  { apiKey: ApiKey.FindCoordinator, path: ['groupId'], named: 'FindCoordinator.groupId' },
  { apiKey: ApiKey.JoinGroup, path: ['groupId'], named: 'JoinGroup.groupId' },
  { apiKey: ApiKey.SyncGroup, path: ['groupId'], named: 'SyncGroup.groupId' },
  { apiKey: ApiKey.Heartbeat, path: ['groupId'], named: 'Heartbeat.groupId' },
  { apiKey: ApiKey.LeaveGroup, path: ['groupId'], named: 'LeaveGroup.groupId' },
  { apiKey: ApiKey.OffsetCommit, path: ['groupId'], named: 'OffsetCommit.groupId' },
  { apiKey: ApiKey.OffsetFetch, path: ['groupId'], named: 'OffsetFetch.groupId' },
  { apiKey: ApiKey.DescribeGroups, path: ['groupIds', 1], named: 'DescribeGroups.groupIds[1]' },
  { apiKey: ApiKey.DeleteGroups, path: ['groupIds', 1], named: 'DeleteGroups.groupIds[1]' },
  { apiKey: ApiKey.OffsetDelete, path: ['groupId'], named: 'OffsetDelete.groupId' },
];

describe('group ids', () => {
  for (const { apiKey, path, named } of groupIdSites) {
    const codec = codecFor(apiKey, 0);
    const wire = codec.encodeRequest(GROUP_SAMPLES[apiKey as keyof typeof GROUP_SAMPLES].request as never);
    it(`${named}: an empty group id is INVALID_REQUEST naming the field`, () => {
      const err = rejection(() => codec.decodeRequest(withAt(wire, path, '')));
      expect(err.code).toBe('INVALID_REQUEST');
      expect(err.message).toBe(
        `${named} must be a non-empty string of at most ${GROUP_ID_CHARS_MAX} characters`,
      );
    });
    it(`${named}: ${GROUP_ID_CHARS_MAX} characters are accepted, one more is rejected`, () => {
      const longest = 'g'.repeat(GROUP_ID_CHARS_MAX);
      expect(JSON.stringify(codec.decodeRequest(withAt(wire, path, longest)))).toContain(longest);
      const err = rejection(() => codec.decodeRequest(withAt(wire, path, `${longest}g`)));
      expect(err.message).toBe(`${named} must be a string of at most ${GROUP_ID_CHARS_MAX} characters`);
    });
  }
});

describe('generations', () => {
  const sites = [
    { name: 'SyncGroup', decode: syncGroup.decodeRequest, wire: syncWire },
    { name: 'Heartbeat', decode: heartbeat.decodeRequest, wire: heartbeatWire },
    { name: 'OffsetCommit', decode: offsetCommit.decodeRequest, wire: commitWire },
  ];
  for (const { name, decode, wire } of sites) {
    it(`${name}.generation may be -1 ("none") but not -2`, () => {
      expect(decode(withAt(wire, ['generation'], -1))).toMatchObject({ generation: -1 });
      const err = rejection(() => decode(withAt(wire, ['generation'], -2)));
      expect(err.code).toBe('INVALID_REQUEST');
      expect(err.message).toBe(`${name}.generation must be an int32 >= -1`);
    });
  }
  it('JoinGroupResponse.generation below -1 is rejected on the client side too', () => {
    const wire = joinGroup.encodeResponse(GROUP_SAMPLES[ApiKey.JoinGroup].response);
    const err = rejection(() => joinGroup.decodeResponse(withAt(wire, ['generation'], -2)));
    expect(err.message).toBe('JoinGroupResponse.generation must be an int32 >= -1');
  });
});

describe('timeouts', () => {
  for (const key of ['sessionTimeoutMs', 'rebalanceTimeoutMs']) {
    it(`JoinGroup.${key} must be a non-negative int32`, () => {
      expect(joinGroup.decodeRequest(withAt(joinWire, [key], 0))).toMatchObject({ [key]: 0 });
      for (const bad of [-1, 2 ** 31, 1.5]) {
        const err = rejection(() => joinGroup.decodeRequest(withAt(joinWire, [key], bad)));
        expect(err.message).toBe(`JoinGroup.${key} must be a non-negative int32`);
      }
    });
  }
});

describe('committed offsets', () => {
  it('a negative commit offset is rejected: commits name a real position', () => {
    for (const bad of [-1, -2]) {
      const err = rejection(() =>
        offsetCommit.decodeRequest(withAt(commitWire, ['partitions', 1, 'offset'], bad)),
      );
      expect(err.code).toBe('INVALID_REQUEST');
      expect(err.message).toBe('OffsetCommit.partitions[1].offset must be a safe integer >= 0');
    }
  });
  it('a commit offset beyond the safe integer range is rejected', () => {
    const err = rejection(() =>
      offsetCommit.decodeRequest(withAt(commitWire, ['partitions', 0, 'offset'], 2 ** 60)),
    );
    expect(err.message).toBe('OffsetCommit.partitions[0].offset must be a safe integer >= 0');
  });
  it(`commit metadata up to ${OFFSET_METADATA_CHARS_MAX} characters is kept, longer is rejected`, () => {
    const longest = 'm'.repeat(OFFSET_METADATA_CHARS_MAX);
    const ok = offsetCommit.decodeRequest(withAt(commitWire, ['partitions', 0, 'metadata'], longest));
    expect(ok.partitions[0]!.metadata).toBe(longest);
    const err = rejection(() =>
      offsetCommit.decodeRequest(withAt(commitWire, ['partitions', 0, 'metadata'], `${longest}m`)),
    );
    expect(err.message).toBe(
      `OffsetCommit.partitions[0].metadata must be a string of at most ${OFFSET_METADATA_CHARS_MAX} characters`,
    );
  });
  it('OffsetFetchResponse allows -1 ("never committed") for offset and timestamp, nothing below', () => {
    const wire = offsetFetch.encodeResponse(GROUP_SAMPLES[ApiKey.OffsetFetch].response);
    expect(offsetFetch.decodeResponse(wire).partitions[1]).toMatchObject({
      offset: -1,
      commitTimestampMs: -1,
    });
    for (const key of ['offset', 'commitTimestampMs']) {
      const err = rejection(() => offsetFetch.decodeResponse(withAt(wire, ['partitions', 1, key], -2)));
      expect(err.message).toBe(`OffsetFetchResponse.partitions[1].${key} must be a safe integer >= -1`);
    }
  });
});

describe('subscriptions and assignments are bytes', () => {
  it('JoinGroup protocol metadata that is not binary is rejected naming the field', () => {
    for (const bad of ['AAEAAA==', [0, 1, 0, 0], { type: 'Buffer', data: [0, 1] }, null]) {
      const err = rejection(() =>
        joinGroup.decodeRequest(withAt(joinWire, ['protocols', 1, 'metadata'], bad)),
      );
      expect(err.code).toBe('INVALID_REQUEST');
      expect(err.message).toBe('JoinGroup.protocols[1].metadata must be binary');
    }
  });
  it('a plain Uint8Array (as msgpack may hand back) is accepted as bytes', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const ok = joinGroup.decodeRequest(withAt(joinWire, ['protocols', 0, 'metadata'], bytes));
    expect(Buffer.isBuffer(ok.protocols[0]!.metadata)).toBe(true);
    expect([...ok.protocols[0]!.metadata]).toEqual([1, 2, 3]);
  });
  it('a SyncGroup assignment that is not binary is rejected naming the field', () => {
    const err = rejection(() =>
      syncGroup.decodeRequest(withAt(syncWire, ['assignments', 0, 'assignment'], 'text')),
    );
    expect(err.message).toBe('SyncGroup.assignments[0].assignment must be binary');
  });
  it('subscription bytes survive a real frame round trip unchanged', () => {
    const req = GROUP_SAMPLES[ApiKey.JoinGroup].request;
    const frame = encodeRequest(
      { apiKey: ApiKey.JoinGroup, apiVersion: 0, correlationId: 1, clientId: 'c' },
      req,
    );
    const [only] = new FrameDecoder().push(frame);
    const { body } = decodeRequestFrame(only!);
    const decoded = decodeRequestBody(ApiKey.JoinGroup, 0, body) as typeof req;
    expect(decoded.protocols[0]!.metadata.equals(req.protocols[0]!.metadata)).toBe(true);
  });
});

describe('member ids', () => {
  it("JoinGroup and OffsetCommit accept memberId '' (first join, commit from outside the group)", () => {
    expect(joinGroup.decodeRequest(withAt(joinWire, ['memberId'], '')).memberId).toBe('');
    const adminCommit = withAt(withAt(commitWire, ['memberId'], ''), ['generation'], -1);
    expect(offsetCommit.decodeRequest(adminCommit)).toMatchObject({ memberId: '', generation: -1 });
  });
  it("SyncGroup and Heartbeat reject memberId '': only a joined member sends them", () => {
    expect(rejection(() => syncGroup.decodeRequest(withAt(syncWire, ['memberId'], ''))).message).toMatch(
      /^SyncGroup\.memberId must be a non-empty string/,
    );
    expect(rejection(() => heartbeat.decodeRequest(withAt(heartbeatWire, ['memberId'], ''))).message).toMatch(
      /^Heartbeat\.memberId must be a non-empty string/,
    );
  });
  it("LeaveGroup accepts memberId '' only for a member named by groupInstanceId", () => {
    expect(leaveGroup.decodeRequest(leaveWire).members[1]).toEqual({
      memberId: '',
      groupInstanceId: 'pod-2',
    });
    const anonymous = withAt(leaveWire, ['members', 1, 'groupInstanceId'], null);
    const err = rejection(() => leaveGroup.decodeRequest(anonymous));
    expect(err.message).toBe(
      'LeaveGroup.members[1].memberId must be a non-empty string unless groupInstanceId is set',
    );
  });
  it('a member id built from the longest client id plus a uuid suffix fits', () => {
    const memberId = `${'c'.repeat(CLIENT_ID_BYTES_MAX)}-${'0'.repeat(36)}`;
    expect(heartbeat.decodeRequest(withAt(heartbeatWire, ['memberId'], memberId)).memberId).toBe(memberId);
    const err = rejection(() =>
      heartbeat.decodeRequest(withAt(heartbeatWire, ['memberId'], 'm'.repeat(MEMBER_ID_CHARS_MAX + 1))),
    );
    expect(err.message).toBe(
      `Heartbeat.memberId must be a string of at most ${MEMBER_ID_CHARS_MAX} characters`,
    );
  });
});

describe('nil where the types allow it, and a missing field is never nil', () => {
  it('OffsetFetch partitions nil means "every committed partition" and survives the bytes', () => {
    const req = { groupId: 'billing', partitions: null };
    const body = packBody(offsetFetch.encodeRequest(req));
    expect(decodeRequestBody(ApiKey.OffsetFetch, 0, body)).toEqual(req);
  });
  it('OffsetFetch without a partitions field is rejected rather than read as "all partitions"', () => {
    const err = rejection(() => offsetFetch.decodeRequest(withAt(fetchWire, ['partitions'], undefined)));
    expect(err.message).toBe('OffsetFetch.partitions must be an array or nil');
  });
  it('groupInstanceId nil is a dynamic member; a missing groupInstanceId is rejected', () => {
    expect(heartbeat.decodeRequest(heartbeatWire)).toMatchObject({ groupInstanceId: null });
    const err = rejection(() =>
      heartbeat.decodeRequest(withAt(heartbeatWire, ['groupInstanceId'], undefined)),
    );
    expect(err.message).toBe('Heartbeat.groupInstanceId must be a string');
  });
  it('a missing group id, generation or commit offset is rejected naming the field', () => {
    const cases: [() => unknown, string][] = [
      [() => joinGroup.decodeRequest(withAt(joinWire, ['groupId'], undefined)), 'JoinGroup.groupId'],
      [() => syncGroup.decodeRequest(withAt(syncWire, ['generation'], undefined)), 'SyncGroup.generation'],
      [
        () => offsetCommit.decodeRequest(withAt(commitWire, ['partitions', 0, 'offset'], undefined)),
        'OffsetCommit.partitions[0].offset',
      ],
      [() => offsetCommit.decodeRequest(withAt(commitWire, ['reset'], undefined)), 'OffsetCommit.reset'],
    ];
    for (const [decode, named] of cases) {
      const err = rejection(decode);
      expect(err.code).toBe('INVALID_REQUEST');
      expect(err.message.startsWith(`${named} must be`), err.message).toBe(true);
    }
  });
  it('DescribeGroups answers nil protocol and leader for a group that has none', () => {
    const codec = codecFor(ApiKey.DescribeGroups, 0);
    const wire = codec.encodeResponse(GROUP_SAMPLES[ApiKey.DescribeGroups].response);
    expect(codec.decodeResponse(wire).groups[1]).toMatchObject({ protocol: null, leaderId: null });
  });
});
