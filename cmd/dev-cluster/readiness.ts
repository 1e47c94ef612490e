/**
 * Pure: whether a dev cluster is ready, from what each broker's ops endpoints said. Ready means every
 * broker answers /health/ready with 200, all report the same known metadata leader on /health/raft, and
 * that leader's registry lists every broker as alive.
 */

/** One broker's answers to /health/ready and /health/raft (null body when unreachable or not JSON). */
export interface BrokerProbe {
  readonly id: number;
  readonly readyCode: number;
  readonly raft: unknown;
}

export type Readiness =
  | { readonly ready: true; readonly leaderId: number }
  | { readonly ready: false; readonly waitingFor: string };

function leaderOf(raft: unknown): number | null {
  if (typeof raft !== 'object' || raft === null) return null;
  const id = (raft as { leader_id?: unknown }).leader_id;
  return typeof id === 'number' && id > 0 ? id : null;
}

function aliveIds(raft: unknown): Set<number> {
  const brokers = typeof raft === 'object' && raft !== null ? (raft as { brokers?: unknown }).brokers : null;
  const out = new Set<number>();
  if (!Array.isArray(brokers)) return out;
  for (const b of brokers) {
    const { id, state } = (b ?? {}) as { id?: unknown; state?: unknown };
    if (typeof id === 'number' && state === 'alive') out.add(id);
  }
  return out;
}

export function evaluateReadiness(probes: readonly BrokerProbe[]): Readiness {
  const notReady = probes.filter((p) => p.readyCode !== 200).map((p) => p.id);
  if (notReady.length > 0)
    return { ready: false, waitingFor: `/health/ready on broker ${notReady.join(', ')}` };
  const leaders = new Set(probes.map((p) => leaderOf(p.raft)));
  const [leaderId] = [...leaders];
  if (leaders.size !== 1 || leaderId === null || leaderId === undefined) {
    return { ready: false, waitingFor: 'every broker to know the same metadata leader' };
  }
  const leader = probes.find((p) => p.id === leaderId);
  const alive = aliveIds(leader?.raft ?? probes[0]?.raft);
  const missing = probes.map((p) => p.id).filter((id) => !alive.has(id));
  if (missing.length > 0)
    return { ready: false, waitingFor: `broker ${missing.join(', ')} to register as alive` };
  return { ready: true, leaderId };
}
