/** Builders and effect filters shared by the group state machine tests (a fake clock is a plain number). */
import { GroupMachine, type GroupMachineOptions } from '../../../src/broker/groups/group-machine.js';
import type {
  GroupEffect,
  GroupProtocol,
  JoinGroupInput,
  JoinGroupResult,
  SyncGroupInput,
  SyncGroupResult,
} from '../../../src/broker/groups/group-types.js';

export const SESSION_MS = 10_000;
export const REBALANCE_MS = 30_000;

export function options(over: Partial<GroupMachineOptions> = {}): GroupMachineOptions {
  let next = 0;
  return {
    initialRebalanceDelayMs: 0,
    minSessionTimeoutMs: 1_000,
    maxSessionTimeoutMs: 60_000,
    maxSize: 10,
    newMemberId: (clientId) => `${clientId}-${++next}`,
    ...over,
  };
}

export const proto = (name: string, metadata = name): GroupProtocol => ({
  name,
  metadata: Buffer.from(metadata),
});

let requestIds = 1000;
export const nextRequestId = (): number => ++requestIds;

export function joinInput(over: Partial<JoinGroupInput> = {}): JoinGroupInput {
  return {
    requestId: nextRequestId(),
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    clientId: 'c',
    clientHost: '/10.0.0.1',
    sessionTimeoutMs: SESSION_MS,
    rebalanceTimeoutMs: REBALANCE_MS,
    protocolType: 'consumer',
    protocols: [proto('range')],
    ...over,
  };
}

export function syncInput(
  memberId: string,
  generation: number,
  assignments: SyncGroupInput['assignments'] = [],
  groupInstanceId: string | null = null,
): SyncGroupInput {
  return { requestId: nextRequestId(), groupId: 'g', memberId, groupInstanceId, generation, assignments };
}

export function joinAnswer(effects: readonly GroupEffect[], requestId: number): JoinGroupResult | undefined {
  for (const e of effects) {
    if (e.kind === 'join-response' && e.requestId === requestId) return e.result;
    if (e.kind === 'persist') {
      const inner = joinAnswer(e.then, requestId);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

export function syncAnswer(effects: readonly GroupEffect[], requestId: number): SyncGroupResult | undefined {
  for (const e of effects) {
    if (e.kind === 'sync-response' && e.requestId === requestId) return e.result;
    if (e.kind === 'persist') {
      const inner = syncAnswer(e.then, requestId);
      if (inner !== undefined) return inner;
    }
  }
  return undefined;
}

export const kinds = (effects: readonly GroupEffect[]): string[] => effects.map((e) => e.kind);

export function removals(effects: readonly GroupEffect[]): { memberId: string; reason: string }[] {
  return effects.flatMap((e) =>
    e.kind === 'member-removed' ? [{ memberId: e.memberId, reason: e.reason }] : [],
  );
}

export interface StableGroup {
  machine: GroupMachine;
  ids: string[];
  leader: string;
  generation: number;
  nowMs: number;
}

/**
 * Brings a group of `clients` to Stable through the real protocol (initial delay 0: first join completes a
 * generation of one, later joins rebalance, so everyone rejoins until all are in). The leader assigns each
 * member `a:<memberId>`.
 */
export function stableGroup(
  clients: { clientId: string; groupInstanceId?: string | null }[],
  opts: GroupMachineOptions = options({ initialRebalanceDelayMs: 100 }),
  startMs = 0,
): StableGroup {
  const machine = new GroupMachine('g', opts);
  let nowMs = startMs;
  const requests = clients.map((c) =>
    joinInput({ clientId: c.clientId, groupInstanceId: c.groupInstanceId ?? null }),
  );
  for (const r of requests) machine.join(r, nowMs);
  nowMs += opts.initialRebalanceDelayMs;
  const effects = machine.tick(nowMs);
  const answers = requests.map((r) => joinAnswer(effects, r.requestId));
  const ids = answers.map((a) => a?.memberId ?? '');
  const leader = answers[0]?.leaderId ?? '';
  const generation = machine.generation;
  for (const id of ids) {
    if (id === leader) continue;
    machine.sync(syncInput(id, generation, [], instanceOf(clients, ids, id)), nowMs);
  }
  machine.sync(
    syncInput(
      leader,
      generation,
      ids.map((id) => ({ memberId: id, assignment: Buffer.from(`a:${id}`) })),
      instanceOf(clients, ids, leader),
    ),
    nowMs,
  );
  return { machine, ids, leader, generation, nowMs };
}

function instanceOf(
  clients: { groupInstanceId?: string | null }[],
  ids: string[],
  id: string,
): string | null {
  return clients[ids.indexOf(id)]?.groupInstanceId ?? null;
}
