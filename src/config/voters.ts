import { parseHostPort } from './validate.js';

/** One member of the metadata quorum: its broker id and peer (Raft) address. */
export interface VoterSpec {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

/** The sizes a founding metadata quorum may have: odd (an even one tolerates no more failures) and small. */
export const VOTER_COUNTS = [1, 3, 5] as const;

/**
 * At most this many voters a joining broker lists to contact. It founds nothing, so any count up to this
 * works: one answering voter is enough (it names the leader), and the bound keeps the list small.
 */
export const CONTACT_VOTERS_MAX = 5;

export type VotersParse =
  | { readonly ok: true; readonly voters: readonly VoterSpec[] }
  | { readonly ok: false; readonly problem: string };

/**
 * `'1@10.0.0.1:9093,2@10.0.0.2:9093'` -> voters, with every problem that makes the list unusable for broker
 * `selfId`. A broker named in the list founds the quorum with it, so the list must be a quorum (1, 3 or 5);
 * for a broker not named in it (a joiner) the list is only where it contacts the group, so any 1 to
 * CONTACT_VOTERS_MAX current voters do (operations.md: after a failure, the survivors may be two).
 */
export function parseVoters(text: string, selfId: number): VotersParse {
  const voters: VoterSpec[] = [];
  for (const raw of text.split(',')) {
    const item = raw.trim();
    const at = item.indexOf('@');
    const id = at > 0 ? Number(item.slice(0, at)) : Number.NaN;
    const address = at > 0 ? parseHostPort(item.slice(at + 1)) : undefined;
    if (
      !Number.isSafeInteger(id) ||
      id < 1 ||
      id > 2 ** 31 - 1 ||
      address === undefined ||
      address.port === 0
    ) {
      return { ok: false, problem: `'${item}' is not id@host:port (id >= 1, port > 0)` };
    }
    voters.push({ id, host: address.host, port: address.port });
  }
  const founding = voters.some((v) => v.id === selfId);
  if (founding && !(VOTER_COUNTS as readonly number[]).includes(voters.length)) {
    return {
      ok: false,
      problem: `${voters.length} voters; a metadata quorum has 1, 3 or 5 (broker ${selfId} is in the list, so it founds the quorum with it)`,
    };
  }
  if (!founding && voters.length > CONTACT_VOTERS_MAX) {
    return {
      ok: false,
      problem: `${voters.length} voters; a joining broker (${selfId} is not in the list) contacts at most ${CONTACT_VOTERS_MAX}`,
    };
  }
  const ids = new Set(voters.map((v) => v.id));
  if (ids.size !== voters.length) return { ok: false, problem: 'voter ids must be unique' };
  const addresses = new Set(voters.map((v) => `${v.host}:${v.port}`));
  if (addresses.size !== voters.length) return { ok: false, problem: 'voter peer addresses must be unique' };
  return { ok: true, voters };
}
