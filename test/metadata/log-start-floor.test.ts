/**
 * advanceLogStart (DeleteRecords in cluster mode): the partition's log start floor in the replicated
 * metadata, refused below feature level 9, only ever raised, kept through the partition's other changes and
 * through snapshots.
 */
import { describe, expect, it } from 'vitest';
import type { MetadataCommand } from '../../src/metadata/commands.js';
import { FEATURE } from '../../src/metadata/feature-levels.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/metadata/snapshot.js';
import type { MetadataState } from '../../src/metadata/state.js';
import { codeOf, createTopic, expectOk, finalizedAt } from './fixtures.js';

function withTopic(level: number): { s: MetadataState; createdVersion: number } {
  const s = finalizedAt(3, level);
  expectOk(
    s.apply(
      createTopic('t', [
        [1, 2, 3],
        [2, 3, 1],
      ]),
    ),
  );
  return { s, createdVersion: s.topics.get('t')!.createdVersion };
}

function advance(createdVersion: number, offset: number, partition = 0): MetadataCommand {
  return { type: 'advanceLogStart', topic: 't', partition, createdVersion, offset };
}

const floorOf = (s: MetadataState, partition = 0) => s.topics.get('t')!.partitions[partition]!.logStartFloor;

describe('advanceLogStart (a partition log start floor set by DeleteRecords)', () => {
  it('is refused below the delete-records feature level, leaving the image as it was', () => {
    const { s, createdVersion } = withTopic(FEATURE.deleteRecords - 1);
    const before = Buffer.from(encodeSnapshot(s, 0)).toString('hex');
    const r = s.apply(advance(createdVersion, 10));
    expect(codeOf(r)).toBe('FEATURE_NOT_FINALIZED');
    if (!r.ok) expect(r.message).toMatch(new RegExp(`level ${FEATURE.deleteRecords}`));
    expect(Buffer.from(encodeSnapshot(s, 0)).toString('hex')).toBe(before);
  });

  it('raises the floor of one partition, never lowers it, and a floor at or below it is no new version', () => {
    const { s, createdVersion } = withTopic(FEATURE.deleteRecords);
    expectOk(s.apply(advance(createdVersion, 10)));
    expect(floorOf(s)).toBe(10);
    expect(floorOf(s, 1)).toBeUndefined();
    const version = s.version;
    expectOk(s.apply(advance(createdVersion, 4)));
    expectOk(s.apply(advance(createdVersion, 10)));
    expect(s.version).toBe(version);
    expect(floorOf(s)).toBe(10);
    expectOk(s.apply(advance(createdVersion, 25)));
    expect(floorOf(s)).toBe(25);
  });

  it('names the topic incarnation: another creation of the name, or an unknown partition, is unknown', () => {
    const { s, createdVersion } = withTopic(FEATURE.deleteRecords);
    expect(codeOf(s.apply(advance(createdVersion + 1, 10)))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(codeOf(s.apply(advance(createdVersion, 10, 2)))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
  });

  it("survives the partition's leader, in-sync set and replica set changes", () => {
    const { s, createdVersion } = withTopic(FEATURE.deleteRecords);
    expectOk(s.apply(advance(createdVersion, 10)));
    const epoch = () => s.topics.get('t')!.partitions[0]!.leaderEpoch;
    expectOk(s.apply({ type: 'updateLeader', topic: 't', partition: 0, expectedEpoch: epoch(), leader: 2 }));
    expectOk(
      s.apply({
        type: 'updateReplicaSet',
        topic: 't',
        partition: 0,
        expectedEpoch: epoch(),
        replicas: [2, 3],
        isr: [2, 3],
        leader: 2,
      }),
    );
    expect(floorOf(s)).toBe(10);
  });

  it('survives a snapshot, and a snapshot without it (an older one) reads as none', () => {
    const { s, createdVersion } = withTopic(FEATURE.deleteRecords);
    const none = decodeSnapshot(encodeSnapshot(s, 1)).state;
    expect(floorOf(none)).toBeUndefined();
    expectOk(s.apply(advance(createdVersion, 10)));
    const restored = decodeSnapshot(encodeSnapshot(s, 9)).state;
    expect(floorOf(restored)).toBe(10);
    expect(Buffer.from(encodeSnapshot(restored, 9))).toEqual(Buffer.from(encodeSnapshot(s, 9)));
  });
});
