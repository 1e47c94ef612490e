/**
 * Who moved the metadata Raft group to which term, read from the brokers' own log lines ("raft role or leader
 * changed", logged at info on every change of role, leader or term: src/raft/ready-handler.ts). A term rises
 * only when a node stands for election (a pre-vote raises none): the node that logged itself candidate, or
 * leader, in a term started it; every other node adopted it from a message. On a loaded machine an election
 * can happen at any time, so process tests say which broker caused one rather than that none happened.
 */

/** The metadata group's id in those lines (src/broker/cluster-node.ts METADATA_GROUP_ID). */
const METADATA_GROUP = 'metadata';

export interface RoleChange {
  readonly role: string;
  /** 0 while no leader is known. */
  readonly leader: number;
  readonly term: number;
}

/** The metadata group's role changes in a broker's log lines (pino JSON; other lines are skipped). */
export function metadataRoleChanges(lines: readonly string[]): RoleChange[] {
  const changes: RoleChange[] = [];
  for (const line of lines) {
    if (!line.includes('raft role or leader changed')) continue;
    let entry: { group?: unknown; role?: unknown; leader?: unknown; term?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    const { group, role, leader, term } = entry;
    if (group !== METADATA_GROUP || typeof role !== 'string') continue;
    if (typeof leader !== 'number' || typeof term !== 'number') continue;
    changes.push({ role, leader, term });
  }
  return changes;
}

/**
 * The metadata terms a broker stood for election in: it logged itself candidate or leader (a leader of a
 * single-voter group goes there from follower in one step, without a candidate line).
 */
export function termsStoodFor(lines: readonly string[]): number[] {
  const terms = metadataRoleChanges(lines)
    .filter((c) => c.role === 'candidate' || c.role === 'leader')
    .map((c) => c.term);
  return [...new Set(terms)].sort((a, b) => a - b);
}

/**
 * The terms above `aboveTerm` that the given brokers moved to without any of them standing for it: terms a
 * broker outside them started. Empty when each new term they reached is explained by their own elections.
 */
export function termsStartedElsewhere(
  brokersLines: readonly (readonly string[])[],
  aboveTerm: number,
): number[] {
  const stood = new Set(brokersLines.flatMap(termsStoodFor));
  const reached = brokersLines.flatMap((lines) => metadataRoleChanges(lines).map((c) => c.term));
  const elsewhere = reached.filter((t) => t > aboveTerm && !stood.has(t));
  return [...new Set(elsewhere)].sort((a, b) => a - b);
}

/** The metadata leader of `term` by its own log lines, or undefined when none of them led that term. */
export function leaderOfTerm(
  brokersLines: ReadonlyMap<number, readonly string[]>,
  term: number,
): number | undefined {
  for (const [id, lines] of brokersLines) {
    if (metadataRoleChanges(lines).some((c) => c.role === 'leader' && c.term === term)) return id;
  }
  return undefined;
}
