import { fairShares, isEligible, partitionKey, worthMoving } from './load.js';
import {
  type BrokerId,
  type ClusterView,
  type LeaderChange,
  type LeaderChangeReason,
  NO_LEADER,
} from './types.js';

interface LeaderSlot {
  readonly topic: string;
  readonly partition: number;
  readonly current: BrokerId;
  readonly preferred: BrokerId | undefined;
  /** Replicas that may lead: eligible brokers in the ISR, in replica order. */
  readonly candidates: readonly BrokerId[];
  /** An operator's assignment: led by its first candidate, never shifted for spread. */
  readonly pinned: boolean;
  desired: BrokerId;
}

/**
 * Preferred-leader election plus spreading. Each partition first wants its first replica when that one is
 * alive and in sync (else the next such replica in order). That choice depends only on replicas, ISR and
 * broker states, never on the current leader, so planning twice gives the same answer and leadership does
 * not flap. Then leadership is shifted along chains "A leads p where B could, B leads q where C could"
 * from the broker furthest above its fair share to one more than one leader below it, until no chain
 * exists: the busiest broker loses one, the chain's end gains one, brokers in between keep their count.
 * A pinned partition (an operator's assignment) is never part of a chain: it is led by its preferred leader
 * when that one is eligible and in sync, else by the next such replica in its list, as Kafka elects.
 */
export function planLeaders(view: ClusterView): { changes: LeaderChange[]; desired: Map<string, BrokerId> } {
  const eligible = view.brokers.filter(isEligible);
  const eligibleIds = new Set(eligible.map((b) => b.id));
  const slots: LeaderSlot[] = [];
  for (const topic of [...view.topics].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    for (const p of [...topic.partitions].sort((a, b) => a.partition - b.partition)) {
      const candidates = p.replicas.filter((id) => eligibleIds.has(id) && p.isr.includes(id));
      const first = candidates[0];
      if (first === undefined) continue;
      slots.push({
        topic: topic.name,
        partition: p.partition,
        current: p.leader,
        preferred: p.replicas[0],
        candidates,
        pinned: p.pinned === true,
        desired: first,
      });
    }
  }

  const shares = fairShares(eligible, slots.length);
  const counts = new Map<BrokerId, number>();
  for (const s of slots) counts.set(s.desired, (counts.get(s.desired) ?? 0) + 1);
  const dev = (id: BrokerId): number => (counts.get(id) ?? 0) - (shares.get(id) ?? 0);

  for (let guard = slots.length * Math.max(1, eligible.length) + 1; guard > 0; guard--) {
    if (
      !shiftOnce(
        slots,
        counts,
        dev,
        eligible.map((b) => b.id),
      )
    )
      break;
  }

  const changes: LeaderChange[] = [];
  const desired = new Map<string, BrokerId>();
  for (const s of slots) {
    desired.set(partitionKey(s.topic, s.partition), s.desired);
    if (s.desired === s.current) continue;
    let reason: LeaderChangeReason = 'leader-spread';
    if (s.current === NO_LEADER || !s.candidates.includes(s.current)) reason = 'leader-unavailable';
    else if (s.desired === s.preferred) reason = 'preferred-leader';
    changes.push({ topic: s.topic, partition: s.partition, from: s.current, to: s.desired, reason });
  }
  return { changes, desired };
}

/**
 * One shift along an augmenting chain, trying sources from the furthest above their share down. Stopping
 * only when no source has a chain makes the result optimal for sum((count - share)^2), which also makes
 * its largest excess and largest deficit as small as the candidate sets allow.
 */
function shiftOnce(
  slots: LeaderSlot[],
  counts: Map<BrokerId, number>,
  dev: (id: BrokerId) => number,
  brokerIds: readonly BrokerId[],
): boolean {
  const sources = [...brokerIds].sort((a, b) => dev(b) - dev(a) || a - b);
  for (const source of sources) {
    const end = shiftFrom(source, slots, dev);
    if (end === undefined) continue;
    counts.set(source, (counts.get(source) ?? 0) - 1);
    counts.set(end, (counts.get(end) ?? 0) + 1);
    return true;
  }
  return false;
}

function shiftFrom(
  source: BrokerId,
  slots: LeaderSlot[],
  dev: (id: BrokerId) => number,
): BrokerId | undefined {
  const via = new Map<BrokerId, { from: BrokerId; slot: LeaderSlot }>();
  const queue: BrokerId[] = [source];
  let end: BrokerId | undefined;
  while (queue.length > 0 && end === undefined) {
    const at = queue.shift() as BrokerId;
    for (const slot of slots) {
      if (slot.desired !== at || slot.pinned) continue;
      for (const id of slot.candidates) {
        if (id === source || via.has(id)) continue;
        via.set(id, { from: at, slot });
        if (worthMoving(dev(source), dev(id))) {
          end = id;
          break;
        }
        queue.push(id);
      }
      if (end !== undefined) break;
    }
  }
  if (end === undefined) return undefined;
  for (let at: BrokerId = end; at !== source; ) {
    const step = via.get(at);
    if (step === undefined) return undefined;
    step.slot.desired = at;
    at = step.from;
  }
  return end;
}
