/**
 * `group describe`'s text report: a partition without a committed offset has an unknown lag ('-'), and the
 * total neither counts it as 0 nor hides that it was left out.
 */
import { describe, expect, it } from 'vitest';
import { renderGroup, totalLag } from '../../cmd/commands/group.js';
import type { GroupView } from '../../src/index.js';

type Row = GroupView['offsets'][number];
const row = (partition: number, committed: number, highWatermark: number, lag: number | null): Row => ({
  topic: 't',
  partition,
  committed,
  highWatermark,
  lag,
  memberId: null,
});

describe('group describe total lag', () => {
  it('sums the lags when every one is known', () => {
    expect(totalLag([row(0, 3, 5, 2), row(1, 7, 7, 0)])).toBe('total lag 2');
    expect(totalLag([])).toBe('total lag 0');
  });

  it('without a committed offset anywhere the total is unknown, not 0', () => {
    expect(totalLag([row(0, -1, 5, null), row(1, -1, 9, null)])).toBe(
      'total lag - (2 partition(s) with unknown lag: no committed offset or end unknown)',
    );
  });

  it('with some unknown, the total is of the known lags and says how many were left out', () => {
    expect(totalLag([row(0, 3, 5, 2), row(1, -1, 9, null)])).toBe(
      'total lag 2 (1 partition(s) with unknown lag not counted: no committed offset or end unknown)',
    );
  });

  it('the report shows - for an unknown lag and ends with the total', () => {
    const view: GroupView = {
      groupId: 'g',
      state: 'Stable',
      generation: 1,
      protocol: 'range',
      leaderId: 'm1',
      coordinatorId: 1,
      members: [],
      offsets: [row(0, -1, 5, null)],
    };
    const text = renderGroup(view);
    expect(text).toMatch(/\nt\s+0\s+-\s+5\s+-\s+-\n/);
    expect(
      text.endsWith('total lag - (1 partition(s) with unknown lag: no committed offset or end unknown)\n'),
    ).toBe(true);
  });
});
