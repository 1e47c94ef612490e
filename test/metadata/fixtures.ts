import type { MetadataCommand } from '../../src/metadata/commands.js';
import { MetadataState } from '../../src/metadata/state.js';
import type { ApplyResult } from '../../src/metadata/types.js';

export function register(
  brokerId: number,
  extra: Partial<MetadataCommand & { type: 'registerBroker' }> = {},
) {
  return {
    type: 'registerBroker',
    brokerId,
    clientAddress: { host: '127.0.0.1', port: 9000 + brokerId },
    peerAddress: { host: '127.0.0.1', port: 9100 + brokerId },
    rack: `rack-${brokerId % 2}`,
    capacityHint: 1,
    atMs: 1000,
    ...extra,
  } satisfies MetadataCommand;
}

export function createTopic(name: string, assignment: number[][], extra: Record<string, unknown> = {}) {
  return {
    type: 'createTopic',
    name,
    replicationFactor: assignment[0]?.length ?? 1,
    assignment,
    configs: {},
    internal: false,
    ...extra,
  } as MetadataCommand;
}

/** Brokers 1..n on a build that supports `level`, the cluster finalized at it. */
export function finalizedAt(n: number, level: number): MetadataState {
  const s = new MetadataState();
  for (let id = 1; id <= n; id++) expectOk(s.apply(register(id, { featureLevel: level })));
  const brokers = [...s.brokers.values()].map((b) => ({ brokerId: b.id, epoch: b.epoch }));
  expectOk(s.apply({ type: 'finalizeFeatureLevel', level, brokers }));
  return s;
}

/** A state with brokers 1..n registered. */
export function withBrokers(n: number): MetadataState {
  const s = new MetadataState();
  for (let id = 1; id <= n; id++) expectOk(s.apply(register(id)));
  return s;
}

export function expectOk(r: ApplyResult): ApplyResult & { ok: true } {
  if (!r.ok) throw new Error(`expected ok, got ${r.code}: ${r.message}`);
  return r;
}

export function codeOf(r: ApplyResult): string {
  return r.ok ? 'ok' : r.code;
}
