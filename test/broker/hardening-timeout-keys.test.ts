/**
 * The resilience.timeouts.* keys are honored by the running broker: each bounds its operation, and a
 * violation is counted in streambus_timeouts_total{operation} (and logged, sampled). A broker that is one of
 * three voters with the other two absent never gets a metadata leader, so every metadata write stalls.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isStreamBusError } from '../../src/errors/index.js';
import { freePorts } from '../helpers/cluster-processes.js';
import { type InProcessBroker, startInProcessBroker } from '../helpers/in-process-broker.js';
import { waitFor } from '../helpers/wait-for.js';

let b: InProcessBroker | undefined;

afterEach(async () => {
  await b?.destroy();
  b = undefined;
});

/** Broker 1 of voters 1, 2, 3; only broker 1 runs, so the metadata group has no quorum. */
async function leaderlessVoter(overrides: Record<string, unknown>): Promise<InProcessBroker> {
  const [p1, p2, p3] = await freePorts(3);
  return startInProcessBroker({
    'broker.id': 1,
    'cluster.enabled': true,
    'cluster.peer_listen': `127.0.0.1:${p1}`,
    'cluster.voters': `1@127.0.0.1:${p1},2@127.0.0.1:${p2},3@127.0.0.1:${p3}`,
    'shutdown.timeout_ms': 2_000,
    ...overrides,
  });
}

async function timeoutsCounted(broker: InProcessBroker, operation: string): Promise<number> {
  const text = await broker.broker.metrics.text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('streambus_timeouts_total{') && l.includes(`operation="${operation}"`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

async function failedWrite(broker: InProcessBroker): Promise<{ error: unknown; elapsedMs: number }> {
  const startedAt = Date.now();
  const error = await broker.broker.cluster!.store.setClusterConfig({ set: { 'test.key': 'x' } }).then(
    () => undefined,
    (err: unknown) => err,
  );
  return { error, elapsedMs: Date.now() - startedAt };
}

describe('resilience.timeouts keys are honored', () => {
  it('proposal: a stalled metadata write fails after about that long, counted as metadata.<command>', async () => {
    b = await leaderlessVoter({
      'resilience.timeouts.proposal': 300,
      'resilience.timeouts.leader_election': 60_000,
      'resilience.retry.retries_max': 0,
    });
    const { error, elapsedMs } = await failedWrite(b);
    expect(isStreamBusError(error, 'REQUEST_TIMED_OUT'), String(error)).toBe(true);
    expect(elapsedMs).toBeGreaterThanOrEqual(280);
    expect(elapsedMs).toBeLessThan(2_000); // not the old hardcoded 3 s, nor the 5 s default
    expect(await timeoutsCounted(b, 'metadata.setClusterConfig')).toBe(1);
  }, 20_000);

  it('leader_election: a write that knows no leader that long fails with LEADER_NOT_AVAILABLE, counted', async () => {
    b = await leaderlessVoter({
      'resilience.timeouts.proposal': 60_000,
      'resilience.timeouts.leader_election': 400,
    });
    const { error, elapsedMs } = await failedWrite(b);
    expect(isStreamBusError(error, 'LEADER_NOT_AVAILABLE'), String(error)).toBe(true);
    expect(elapsedMs).toBeGreaterThanOrEqual(380);
    expect(elapsedMs).toBeLessThan(3_000); // retries did not carry on past the leader wait
    expect(await timeoutsCounted(b, 'metadata.leader_election')).toBeGreaterThanOrEqual(1);
  }, 20_000);

  it('health_check: a hanging check is reported unhealthy after that long, counted as health.<check>', async () => {
    b = await startInProcessBroker({ 'resilience.timeouts.health_check': 100 });
    b.broker.health.register({
      name: 'stuck',
      critical: false,
      check: () => new Promise(() => {}),
    });
    await b.broker.health.refresh();
    await waitFor('the stuck check timed out', () =>
      b!.broker.health.report().components.some((c) => c.name === 'stuck' && c.status === 'unhealthy'),
    );
    expect(await timeoutsCounted(b, 'health.stuck')).toBeGreaterThanOrEqual(1);
  });
});
