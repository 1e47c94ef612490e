/**
 * Runs one scenario end to end: brokers up, workload on, the seeded fault plan executed, every fault healed,
 * producers stopped, a final drain, the checker over the history. Writes history.jsonl, report.json and the
 * broker logs under the run's results dir; removes processes, nft tables, mounts and data dirs whatever
 * happens.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CheckReport, checkHistory } from '../checker/check.js';
import { DiskFullNemesis } from '../nemesis/disk-full.js';
import type { Nemesis, NemesisContext } from '../nemesis/nemesis.js';
import { PartitionNemesis } from '../nemesis/partition.js';
import {
  BUSIEST_PARTITION,
  type FaultStep,
  formatPlan,
  generatePlan,
  leaderKillPlan,
  seededRandom,
  targetLeaders,
} from '../nemesis/plan.js';
import { KillNemesis, PauseNemesis } from '../nemesis/process-faults.js';
import { SlowNemesis } from '../nemesis/slow.js';
import { BreakerSampler } from './breaker-sampler.js';
import { Cleanup } from './cleanup.js';
import { runClock, sleep } from './clock.js';
import { BrokerCluster, removeWorkDir } from './cluster.js';
import { LeaderLookup, waitAllReady } from './cluster-state.js';
import { FileHistory } from './history.js';
import { defaultBrokers, FIXED_PLAN_SCENARIOS, SCENARIOS } from './scenarios.js';
import { monitorStalls } from './stall-monitor.js';
import { tmpfsUnavailableReason } from './tmpfs.js';
import { drain, Workload } from './workload.js';

/** Least quiet time between a heal and the next fault. */
const HEAL_QUIET_MS_MIN = 1000;
/** A fresh cluster electing its metadata leader, or a healed one re-electing partition leaders. */
const CLUSTER_SETTLE_MS_MAX = 60_000;
/**
 * After the final heal, how long breakers get to close again before the check: the generic open timeout
 * (resilience.circuit_breaker.timeout, 30 s) plus a few trials. Raft peer and probe breakers need seconds.
 */
const BREAKERS_SETTLE_MS_MAX = 40_000;

export interface RunOptions {
  scenario: string;
  durationS: number;
  seed: number;
  resultsDir: string;
  /**
   * Broker processes (default: 3 for cluster-* scenarios, else 1). Above 1 they form one replicated cluster
   * (topic replication factor min(3, brokers), min_insync_replicas min(2, brokers)).
   */
  brokers?: number;
  /** Address prefix of the brokers (default 127.0.1): concurrent partitioning runs need different ones. */
  hostPrefix?: string;
  partitions?: number;
  producers?: number;
  consumers?: number;
  /** Members of the workload's consumer group (replicated runs; default 2). */
  groupMembers?: number;
  ratePerSec?: number;
  /**
   * Sends outstanding per producer. Above 1, the SDK producer's retries can reorder a producer's writes
   * (a retried batch goes to the back of the queue), which the checker reports as reordering.
   */
  inFlightMax?: number;
  tmpfsSizeMb?: number;
  faultMsMin?: number;
  faultMsMax?: number;
  quietMsMin?: number;
  quietMsMax?: number;
  log?: (message: string) => void;
}

export interface RunResult {
  scenario: string;
  seed: number;
  durationS: number;
  /** 'skipped' when no nemesis of the scenario can run here (the reasons say why). */
  status: 'pass' | 'fail' | 'skipped' | 'error';
  skipped: { nemesis: string; reason: string }[];
  plan: FaultStep[];
  report: CheckReport | null;
  runDir: string;
  error?: string;
}

function makeNemeses(names: readonly string[], cleanup: Cleanup): Nemesis[] {
  return names.map((name) => {
    switch (name) {
      case 'kill':
        return new KillNemesis();
      case 'pause':
        return new PauseNemesis();
      case 'slow':
        return new SlowNemesis();
      case 'disk-full':
        return new DiskFullNemesis();
      case 'partition':
        return new PartitionNemesis(cleanup);
      default:
        throw new Error(`unknown nemesis ${name}`);
    }
  });
}

export async function runScenario(o: RunOptions): Promise<RunResult> {
  const names = SCENARIOS[o.scenario];
  if (names === undefined)
    throw new Error(`unknown scenario ${o.scenario} (${Object.keys(SCENARIOS).join(', ')})`);
  const log = o.log ?? (() => {});
  const runDir = join(
    o.resultsDir,
    `${o.scenario}-seed${o.seed}-${new Date().toISOString().replace(/[:.]/g, '-')}`,
  );
  const workDir = join(runDir, 'work');
  mkdirSync(workDir, { recursive: true });
  const history = new FileHistory(join(runDir, 'history.jsonl'));
  const clock = runClock();
  const cleanup = new Cleanup();
  const removeHandlers = cleanup.installExitHandlers();
  cleanup.add({
    name: 'remove data dirs',
    run: async () => removeWorkDir(workDir),
    runSync: () => removeWorkDir(workDir),
  });
  const random = seededRandom(o.seed ^ 0x5eed);
  const nemeses = makeNemeses(names, cleanup);
  const result: RunResult = {
    scenario: o.scenario,
    seed: o.seed,
    durationS: o.durationS,
    status: 'error',
    skipped: [],
    plan: [],
    report: null,
    runDir,
  };
  log(
    `scenario ${o.scenario}, seed ${o.seed} (replay with --seed ${o.seed}), ${o.durationS} s, results in ${runDir}`,
  );
  let workload: Workload | null = null;
  let leaders: LeaderLookup | null = null;
  let breakers: BreakerSampler | null = null;
  let stopStallMonitor: (() => void) | undefined;
  const topic = 'chaos';
  // The leader-kill acceptance run uses the issue's 6 partitions unless told otherwise.
  const partitions = o.partitions ?? (FIXED_PLAN_SCENARIOS.has(o.scenario) ? 6 : 4);
  try {
    const wantsDisk = names.includes('disk-full');
    const diskProbe = wantsDisk ? tmpfsUnavailableReason() : 'not needed';
    const brokers = o.brokers ?? defaultBrokers(o.scenario);
    const replicated = brokers > 1;
    const cluster = await BrokerCluster.start({
      nodes: brokers,
      replicated,
      ...(o.hostPrefix === undefined ? {} : { hostPrefix: o.hostPrefix }),
      workDir,
      logDir: runDir,
      tmpfsSizeMb: wantsDisk && diskProbe === null ? (o.tmpfsSizeMb ?? 64) : null,
      cleanup,
      random,
      onUnexpectedExit: (node, code, signal) => {
        const detail = `code ${code}, signal ${signal}`;
        history.append({ t: clock.nowMs(), type: 'broker', node, action: 'exited', detail });
        log(
          `WARNING broker ${node} exited without the harness asking (${detail}); restarted at the next heal`,
        );
      },
    });
    for (const n of cluster.nodes) {
      const peers = n.peerProxy === null ? '' : `, peers via ${n.peerProxy.address}`;
      log(`broker ${n.id} on ${n.address} (clients via ${n.clientAddress}${peers}), data ${n.dataDir}`);
    }
    if (replicated) {
      await waitAllReady(cluster, clock, CLUSTER_SETTLE_MS_MAX);
      log(`cluster of ${brokers} ready (metadata quorum up)`);
      leaders = new LeaderLookup(cluster, topic);
      breakers = new BreakerSampler(() => cluster.nodes, history, clock);
      breakers.start();
    }
    const ctx: NemesisContext = { cluster, history, nowMs: () => clock.nowMs(), log };
    const usable: Nemesis[] = [];
    for (const nem of nemeses) {
      const reason = await nem.unavailableReason(ctx);
      if (reason === null) usable.push(nem);
      else {
        result.skipped.push({ nemesis: nem.name, reason });
        log(`SKIP nemesis ${nem.name}: ${reason}`);
      }
    }
    if (usable.length === 0) {
      result.status = 'skipped';
      log(`SKIPPED scenario ${o.scenario}: no nemesis can run here`);
      return result;
    }
    history.append({
      t: clock.nowMs(),
      type: 'run',
      action: 'start',
      scenario: o.scenario,
      seed: o.seed,
      brokers,
      // Replicated runs use idempotent producers: any duplicate is then an anomaly. A standalone broker
      // keeps producer state in memory only, so there a retry across a restart may duplicate (reported).
      idempotent: replicated,
    });
    stopStallMonitor = monitorStalls(history, clock);
    const basePlan = generatePlan({
      seed: o.seed,
      durationMs: o.durationS * 1000,
      nemeses: usable.map((n) => n.name),
      nodes: cluster.nodes.length,
      ...(o.faultMsMin === undefined ? {} : { faultMsMin: o.faultMsMin }),
      ...(o.faultMsMax === undefined ? {} : { faultMsMax: o.faultMsMax }),
      ...(o.quietMsMin === undefined ? {} : { quietMsMin: o.quietMsMin }),
      ...(o.quietMsMax === undefined ? {} : { quietMsMax: o.quietMsMax }),
    });
    const plan = FIXED_PLAN_SCENARIOS.has(o.scenario)
      ? leaderKillPlan({ durationMs: o.durationS * 1000 })
      : replicated
        ? targetLeaders(basePlan, { seed: o.seed, partitions })
        : basePlan;
    result.plan = plan;
    log(`plan (seed ${o.seed}):\n${formatPlan(plan)}`);

    workload = new Workload({
      bootstrap: cluster.bootstrap,
      topic,
      partitions,
      producers: o.producers ?? (FIXED_PLAN_SCENARIOS.has(o.scenario) ? partitions : 4),
      consumers: o.consumers ?? 2,
      idempotent: replicated,
      groupMembers: replicated ? (o.groupMembers ?? 2) : 0,
      inFlightMax: o.inFlightMax ?? 16,
      replicationFactor: Math.min(3, brokers),
      ...(replicated ? { minInsyncReplicas: Math.min(2, brokers) } : {}),
      ratePerSec: o.ratePerSec ?? 100,
      requestTimeoutMs: 2500,
      history,
      clock,
    });
    await workload.createTopic();
    if (leaders !== null) {
      const led = await leaders.waitAllLed(partitions, clock, CLUSTER_SETTLE_MS_MAX);
      log(`topic ${topic}: leaders ${[...led].map(([p, n]) => `p${p}->node-${n}`).join(' ')}`);
    }
    const origin = clock.nowMs();
    workload.start();
    let healedAtMs = origin;
    for (const step of plan) {
      // Plan times are lower bounds: a slow heal (a broker restart takes ~1.5 s) must not eat the quiet
      // time that lets recovery be measured before the next fault.
      await sleep(
        Math.max(0, origin + step.atMs - clock.nowMs(), healedAtMs + HEAL_QUIET_MS_MIN - clock.nowMs()),
      );
      const nem = usable.find((n) => n.name === step.nemesis)!;
      const aimed = await aim(step, leaders, () => workload?.busiestPartition() ?? 0);
      const target = `node-${aimed.target % cluster.nodes.length}`;
      try {
        const detail =
          (await nem.start(ctx, aimed)) +
          (aimed.leaderOf === undefined ? '' : ` (leader of partition ${aimed.leaderOf})`);
        history.append({
          t: clock.nowMs(),
          type: 'nemesis',
          name: nem.name,
          action: 'start',
          target,
          detail,
        });
        log(`${(clock.nowMs() / 1000).toFixed(1)} s  start ${nem.name} on ${target}: ${detail}`);
      } catch (err) {
        history.append({
          t: clock.nowMs(),
          type: 'note',
          message: `${nem.name} start failed: ${(err as Error).message}`,
        });
        log(`${nem.name} start failed: ${(err as Error).message}`);
      }
      await sleep(step.durationMs);
      await nem.stop(ctx);
      // A heal restores the whole cluster: also restart any broker that died on its own meanwhile.
      await cluster.healAll();
      history.append({ t: clock.nowMs(), type: 'nemesis', name: nem.name, action: 'stop', target });
      healedAtMs = clock.nowMs();
      log(`${(clock.nowMs() / 1000).toFixed(1)} s  healed ${nem.name} on ${target}`);
    }
    await sleep(Math.max(0, origin + o.durationS * 1000 - clock.nowMs()));
    await cluster.healAll();
    history.append({ t: clock.nowMs(), type: 'phase', name: 'workload-stop' });
    // The drain reads from leaders: give a healed cluster time to have one for every partition.
    if (leaders !== null)
      await leaders.waitAllLed(partitions, clock, CLUSTER_SETTLE_MS_MAX).catch((err: unknown) => {
        log(`WARNING before the drain: ${(err as Error).message}`);
      });
    await workload.stopProducing();
    // Give live consumers a moment to catch up after the last heal before judging what they saw.
    await sleep(3000);
    await workload.stopConsuming();
    history.append({ t: clock.nowMs(), type: 'phase', name: 'drain-start' });
    await drain({ bootstrap: cluster.bootstrap, topic, partitions, history, clock, timeoutMs: 60_000 });
    history.append({ t: clock.nowMs(), type: 'phase', name: 'drain-end' });
    // Evidence that broker-to-broker traffic really took the proxies the slow nemesis acts on.
    for (const n of cluster.nodes) {
      const p = n.peerProxy;
      if (p !== null)
        log(`peer proxy of broker ${n.id}: ${p.connectionsAccepted} connections, ${p.bytesForwarded} bytes`);
    }
    if (breakers !== null) {
      const open = await breakers.settle(BREAKERS_SETTLE_MS_MAX);
      history.append({ t: clock.nowMs(), type: 'breakers-settled', open });
      if (open.length > 0) log(`WARNING breakers still open after the heal: ${open.join(', ')}`);
      await breakers.stop();
    }
    stopStallMonitor?.();
    history.append({ t: clock.nowMs(), type: 'run', action: 'end', scenario: o.scenario, seed: o.seed });
    history.flush();
    const report = checkHistory(history.events);
    result.report = report;
    result.status = report.ok ? 'pass' : 'fail';
    return result;
  } catch (err) {
    result.error = (err as Error).stack ?? String(err);
    log(`run failed: ${result.error}`);
    return result;
  } finally {
    stopStallMonitor?.();
    await history.close().catch((err: Error) => log(`history.jsonl not completely written: ${err.message}`));
    await breakers?.stop();
    for (const nem of nemeses) await nem.cleanup().catch(() => {});
    await workload?.close();
    await leaders?.close();
    await cleanup.runAll(log);
    removeHandlers();
    writeFileSync(join(runDir, 'report.json'), `${JSON.stringify(result, null, 2)}\n`);
  }
}

/**
 * The step as it will run: a leader-targeted step aims at the current leader of its partition (from fresh
 * metadata) and keeps its drawn node when no leader is known; other steps are unchanged.
 */
async function aim(step: FaultStep, leaders: LeaderLookup | null, busiest: () => number): Promise<FaultStep> {
  if (step.leaderOf === undefined) return step;
  if (step.leaderOf === BUSIEST_PARTITION) return aim({ ...step, leaderOf: busiest() }, leaders, busiest);
  if (leaders === null) {
    const { leaderOf: _, ...rest } = step;
    return rest;
  }
  const leader = (await leaders.leaders()).get(step.leaderOf);
  if (leader === undefined) {
    const { leaderOf: _, ...rest } = step;
    return rest;
  }
  return { ...step, target: leader };
}
