/**
 * `streambus topic describe` shows which partitions are pinned (an operator's assignment, kept) and where a
 * reassignment in progress moves them.
 */
import { describe, expect, it } from 'vitest';
import { renderTopicDescription } from '../../cmd/commands/topic.js';
import type { PartitionDescription, TopicDescription } from '../../src/protocol/messages.js';

function partition(n: number, o: Partial<PartitionDescription> = {}): PartitionDescription {
  return {
    partition: n,
    leaderId: 1,
    replicas: [1, 2, 4],
    isr: [1, 2, 4],
    logStartOffset: 0,
    highWatermark: 10,
    sizeBytes: 100,
    ...o,
  };
}

describe('topic describe', () => {
  it('marks pinned partitions; an unpinned one, or one from a broker before pins (v0), has no mark', () => {
    const t: TopicDescription = {
      name: 'manual',
      error: null,
      configs: {},
      partitions: [partition(0, { pinned: true }), partition(1, { pinned: false }), partition(2)],
    };
    expect(renderTopicDescription(t).split('\n')).toEqual([
      'topic manual\tpartitions 3',
      '  partition 0\tleader 1\treplicas 1,2,4\tisr 1,2,4\tlog_start 0\thigh_watermark 10\tsize_bytes 100\tpinned',
      '  partition 1\tleader 1\treplicas 1,2,4\tisr 1,2,4\tlog_start 0\thigh_watermark 10\tsize_bytes 100',
      '  partition 2\tleader 1\treplicas 1,2,4\tisr 1,2,4\tlog_start 0\thigh_watermark 10\tsize_bytes 100',
      '',
    ]);
  });

  it('shows the target of a reassignment in progress; none once it is reached, or from a broker before v2', () => {
    const t: TopicDescription = {
      name: 'orders',
      error: null,
      configs: {},
      partitions: [
        partition(0, { pinned: true, targetReplicas: [3, 1, 2, 4] }),
        partition(1, { pinned: true }),
      ],
    };
    expect(renderTopicDescription(t).split('\n')).toEqual([
      'topic orders\tpartitions 2',
      '  partition 0\tleader 1\treplicas 1,2,4\tisr 1,2,4\tlog_start 0\thigh_watermark 10\tsize_bytes 100\tpinned\ttarget 3,1,2,4',
      '  partition 1\tleader 1\treplicas 1,2,4\tisr 1,2,4\tlog_start 0\thigh_watermark 10\tsize_bytes 100\tpinned',
      '',
    ]);
  });
});
