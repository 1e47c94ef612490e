/**
 * Pure: whether a dev cluster is ready, from what each broker's ops endpoints said. Ready means every
 * broker answers /health/ready with 200, all report the same known metadata leader in the same term on
 * /health/raft, and that leader's registry lists every broker as alive. The term is reported with the
 * leader: a later election can move the leadership, and the pair says which one was meant (one leader per
 * term, so a broker's log tells whether it led that term).
 */

/** One broker's answers to /health/ready and /health/raft (null body when unreachable or not JSON). */
export interface BrokerProbe {
  readonly id: number;
  readonly readyCode: number;
  readonly raft: unknown;
}

export type Readiness =
  | { readonly ready: true; readonly leaderId: number; readonly term: number }
  | { readonly ready: false; readonly waitingFor: string };

/** The known metadata leader and the term the broker reports it in, as `id@term`; null while none. */
function leaderOf(raft: unknown): string | null {
  if (typeof raft !== 'object' || raft === null) return null;
  const { leader_id: id, term } = raft as { leader_id?: unknown; term?: unknown };
  return typeof id === 'number' && id > 0 && typeof term === 'number' ? `${id}@${term}` : null;
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
  const [agreed] = [...leaders];
  if (leaders.size !== 1 || agreed === null || agreed === undefined) {
    return { ready: false, waitingFor: 'every broker to know the same metadata leader' };
  }
  const [leaderId, term] = agreed.split('@').map(Number) as [number, number];
  const leader = probes.find((p) => p.id === leaderId);
  const alive = aliveIds(leader?.raft ?? probes[0]?.raft);
  const missing = probes.map((p) => p.id).filter((id) => !alive.has(id));
  if (missing.length > 0)
    return { ready: false, waitingFor: `broker ${missing.join(', ')} to register as alive` };
  return { ready: true, leaderId, term };
}
