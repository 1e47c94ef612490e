/**
 * Checks a consumer group's delivery guarantees from what its member processes reported
 * (sdk-group-member-process.ts) and what the producer had acknowledged: pure functions over those lists,
 * so a test only gathers the inputs and asserts on the verdict.
 */
import type { SdkGroupMember } from './sdk-group-member-process.js';

export interface ConsumptionVerdict {
  /** Acknowledged values no member consumed (at-least-once broken). */
  missing: string[];
  /** Values consumed more than once, with who consumed them. */
  duplicated: { value: string; members: string[] }[];
  /** A member read a partition out of order or with a gap while it kept owning it. */
  orderBreaks: string[];
  /** A committed offset c whose message c-1 nobody consumed (a commit ahead of consumption). */
  commitsPastConsumed: string[];
}

export function checkConsumption(
  members: readonly Pick<SdkGroupMember, 'name' | 'records' | 'assignments'>[],
  acked: Iterable<string>,
  /** The highest committed offset seen per partition. */
  committed: ReadonlyMap<number, number>,
): ConsumptionVerdict {
  const consumers = new Map<string, string[]>();
  const consumedOffsets = new Map<number, Set<number>>();
  for (const m of members) {
    for (const r of m.records) {
      consumers.set(r.value, [...(consumers.get(r.value) ?? []), m.name]);
      const offsets = consumedOffsets.get(r.partition) ?? new Set<number>();
      offsets.add(r.offset);
      consumedOffsets.set(r.partition, offsets);
    }
  }
  return {
    missing: [...acked].filter((v) => !consumers.has(v)),
    duplicated: [...consumers]
      .filter(([, who]) => who.length > 1)
      .map(([value, who]) => ({ value, members: who })),
    orderBreaks: members.flatMap(orderBreaksOf),
    commitsPastConsumed: [...committed]
      .filter(([p, c]) => c > 0 && !consumedOffsets.get(p)?.has(c - 1))
      .map(([p, c]) => `p${p} committed ${c}`),
  };
}

/**
 * Between two assignment changes a member reads each partition it keeps at consecutive offsets. A
 * partition it loses and later gets back starts again wherever the group's commit says.
 */
function orderBreaksOf(m: Pick<SdkGroupMember, 'name' | 'records' | 'assignments'>): string[] {
  const breaks: string[] = [];
  const events = [
    ...m.records.map((record) => ({ line: record.line, record })),
    ...m.assignments.map((assignment) => ({ line: assignment.line, assignment })),
  ].sort((x, y) => x.line - y.line);
  const next = new Map<number, number>();
  for (const e of events) {
    if ('assignment' in e) {
      for (const p of [...next.keys()]) if (!e.assignment.partitions.includes(p)) next.delete(p);
      continue;
    }
    const want = next.get(e.record.partition);
    if (want !== undefined && e.record.offset !== want) {
      breaks.push(`${m.name} p${e.record.partition}: offset ${e.record.offset} where ${want} was next`);
    }
    next.set(e.record.partition, e.record.offset + 1);
  }
  return breaks;
}
