import type {
  CoordinatorAction,
  CoordinatorConfig,
  CoordinatorEvent,
  CoordinatorState,
  HeartbeatRecord,
  StepResult,
} from './coordinator-types.js';
import {
  type BrokerLiveness,
  DEFAULT_FAILURE_DETECTOR_CONFIG,
  detect,
  type FailureDetectorConfig,
  heartbeatFresh,
  recordProbe,
} from './failure-detector.js';
import { partitionKey, projectedReplicas } from './load.js';
import { planRebalance } from './rebalancer.js';
import type { BrokerState, BrokerView, ClusterView } from './types.js';

export const DEFAULT_COORDINATOR_CONFIG: CoordinatorConfig = {
  detector: DEFAULT_FAILURE_DETECTOR_CONFIG,
  rebalanceIntervalMs: 10_000,
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  failedGraceMs: 30_000,
  concurrentMovesMax: 4,
  replicaScoreMax: 0,
  proposalTimeoutMs: 5000,
  rebalanceTimeoutMs: 30_000,
};

/**
 * Heartbeats are metadata writes, so while metadata commits are stalled the coordinator hears no broker,
 * itself included, and silence says nothing about them. A coordinator cut off by a slow network, or paused
 * and resumed, would otherwise mark every broker failed the moment it runs again (and move every leadership
 * onto the brokers it happens to hear first). Stalled: no commit for half the heartbeat timeout (1.5 s by
 * default) and at least two heartbeat intervals (each broker's heartbeat commits once per interval, so a
 * gap of one interval is normal).
 */
function commitStallMs(detector: FailureDetectorConfig): number {
  return Math.max(detector.heartbeatTimeoutMs / 2, 2 * detector.heartbeatIntervalMs);
}

/**
 * A partition's leader moves for balance at most once per this spacing after any leader change this
 * coordinator made for it. In-sync sets and broker states arrive one write at a time (a broker coming back
 * rejoins each partition's set separately), and plans made on each intermediate view would hand a
 * leadership back and forth within a few hundred milliseconds; a broker marked failed on late heartbeats is
 * back within about a heartbeat timeout. One heartbeat timeout (3 s by default) covers both; a whole
 * rebalance interval (10 s) held partitions on a broker after their preferred one came back, and in a
 * paused-broker run the broker holding them was the next one paused (a 2 s outage of both).
 */
export function balanceSpacingMs(config: CoordinatorConfig): number {
  return config.detector.heartbeatTimeoutMs;
}

export function initialCoordinatorState(config: Partial<CoordinatorConfig> = {}): CoordinatorState {
  return {
    config: { ...DEFAULT_COORDINATOR_CONFIG, ...config },
    role: 'standby',
    leaderSinceMs: null,
    nowMs: 0,
    view: null,
    heartbeats: {},
    probeFailures: {},
    probesInFlight: {},
    lastProbeRoundMs: null,
    lastRebalanceMs: null,
    rebalanceDue: false,
    awaitingStates: {},
    planInFlight: null,
    imbalanceScore: null,
    balancedAtMs: {},
    commitStalledAtMs: null,
  };
}

export function isLeader(state: CoordinatorState): boolean {
  return state.role === 'leader';
}

/**
 * The coordinator as a reducer: state and event in, new state and actions out. It acts only while this
 * broker leads the metadata group; as a standby it records metadata views and emits nothing, so requests
 * it receives then must be answered NOT_LEADER by the driver.
 */
export function step(prev: CoordinatorState, event: CoordinatorEvent): StepResult {
  const state: CoordinatorState = { ...prev, nowMs: Math.max(prev.nowMs, event.nowMs) };
  if (event.type === 'becameLeader') return { state: becomeLeader(state, event.view), actions: [] };
  if (event.type === 'lostLeadership') {
    return {
      state: { ...initialCoordinatorState(state.config), nowMs: state.nowMs, view: state.view },
      actions: [],
    };
  }
  if (event.type === 'metadataApplied') {
    const next = onMetadata(state, event.view);
    return { state: next, actions: [] };
  }
  if (state.role !== 'leader') return { state, actions: [] };

  switch (event.type) {
    case 'brokerRegistered':
      return { state: recordBeat(state, event.brokerId, false), actions: [] };
    case 'heartbeat':
      return { state: recordBeat(state, event.brokerId, event.ready ?? true), actions: [] };
    case 'heartbeats':
      return {
        state: event.beats.reduce((s, b) => recordBeat(s, b.brokerId, b.ready ?? true), state),
        actions: [],
      };
    case 'probeResult': {
      const { [event.brokerId]: _sent, ...probesInFlight } = state.probesInFlight;
      const probeFailures = recordProbe(state.probeFailures, event.brokerId, event.ok);
      return { state: { ...state, probesInFlight, probeFailures }, actions: [] };
    }
    case 'tick':
      return tick(noteCommitStall(state, event.commitAgeMs), event.heardFromMs ?? {});
  }
}

function becomeLeader(state: CoordinatorState, view: ClusterView): CoordinatorState {
  return {
    ...initialCoordinatorState(state.config),
    role: 'leader',
    leaderSinceMs: state.nowMs,
    nowMs: state.nowMs,
    view,
    // Continue what the previous coordinator left: pending moves are in the view; plan straight away.
    rebalanceDue: true,
  };
}

/** A new view: drop proposals it shows done, trigger a rebalance when brokers joined, left or changed. */
function onMetadata(state: CoordinatorState, view: ClusterView): CoordinatorState {
  const before = new Map((state.view?.brokers ?? []).map((b) => [b.id, b.state]));
  const changed =
    view.brokers.some((b) => before.get(b.id) !== b.state) ||
    view.topics.length !== (state.view?.topics.length ?? 0) ||
    operatorIntent(view) !== (state.view === null ? '' : operatorIntent(state.view));
  const states = new Map(view.brokers.map((b) => [b.id, b.state]));
  const awaitingStates = Object.fromEntries(
    Object.entries(state.awaitingStates).filter(([key]) => {
      const [id, wanted] = key.split(':');
      return states.get(Number(id)) !== wanted;
    }),
  );
  const planLanded = state.planInFlight !== null && view.version > state.planInFlight.version;
  const planInFlight = planLanded ? null : state.planInFlight;
  return {
    ...state,
    view,
    awaitingStates,
    planInFlight,
    // A landed plan may have been one batch of several (moves are capped): plan the next one straight away.
    rebalanceDue: state.rebalanceDue || (state.role === 'leader' && (changed || planLanded)),
  };
}

/**
 * The partitions an operator pinned, with any reassignment target: a reassignment or an unpin is planned
 * at once rather than at the next periodic rebalance.
 */
function operatorIntent(view: ClusterView): string {
  const parts: string[] = [];
  for (const t of view.topics) {
    for (const p of t.partitions) {
      if (p.pinned === true) parts.push(`${t.name}/${p.partition}:${p.targetReplicas?.join(',') ?? ''}`);
    }
  }
  return parts.join(' ');
}

/** While commits are stalled (commitStallMs), remember it: liveness is judged again on what arrives after. */
function noteCommitStall(state: CoordinatorState, commitAgeMs: number | undefined): CoordinatorState {
  if (commitAgeMs === undefined || commitAgeMs <= commitStallMs(state.config.detector)) return state;
  return { ...state, commitStalledAtMs: state.nowMs };
}

/** When this coordinator's view of liveness starts: its takeover, or the end of its last commit stall. */
function livenessSinceMs(state: CoordinatorState): number | null {
  if (state.commitStalledAtMs === null) return state.leaderSinceMs;
  return Math.max(state.leaderSinceMs ?? state.commitStalledAtMs, state.commitStalledAtMs);
}

function recordBeat(state: CoordinatorState, brokerId: number, ready: boolean): CoordinatorState {
  const prev = state.heartbeats[brokerId];
  const beat: HeartbeatRecord = { lastMs: Math.max(prev?.lastMs ?? 0, state.nowMs), ready };
  return { ...state, heartbeats: { ...state.heartbeats, [brokerId]: beat } };
}

/**
 * What the detector sees. A broker not heard from since this coordinator took over is given the takeover
 * time as its last heartbeat (a fresh window), except a failed broker, which must really send one to
 * rejoin.
 */
export function livenessOf(
  state: CoordinatorState,
  b: BrokerView,
  heardFromMs: Readonly<Record<number, number>> = {},
): BrokerLiveness {
  const beat = state.heartbeats[b.id];
  const since = livenessSinceMs(state) ?? b.lastHeartbeatMs;
  const heardMs = beat?.lastMs ?? b.lastHeartbeatMs;
  // A serving broker whose Raft transport this one hears is not silent, even if its heartbeats are stuck
  // on the way (they are forwarded metadata writes, another connection). Joining and rejoining still
  // need a heartbeat: it carries whether the broker is ready.
  const serving = b.state === 'alive' || b.state === 'draining';
  const contactMs = serving ? (heardFromMs[b.id] ?? Number.NEGATIVE_INFINITY) : Number.NEGATIVE_INFINITY;
  return {
    id: b.id,
    state: b.state,
    stateSinceMs: b.stateSinceMs,
    lastHeartbeatMs: b.state === 'failed' ? heardMs : Math.max(heardMs, since, contactMs),
    ready: beat?.ready ?? b.state !== 'starting',
    probeFailures: state.probeFailures[b.id] ?? 0,
  };
}

function tick(state: CoordinatorState, heardFromMs: Readonly<Record<number, number>>): StepResult {
  const view = state.view;
  if (view === null) return { state, actions: [] };
  // Commits stalled: whatever it decided now would be judged on silence it caused and land only once
  // commits resume. It decides nothing, and probe failures seen meanwhile do not count.
  if (state.commitStalledAtMs === state.nowMs) {
    return { state: { ...state, probeFailures: {}, probesInFlight: {} }, actions: [] };
  }
  const actions: CoordinatorAction[] = [];
  const now = state.nowMs;
  const config = state.config;
  const awaitingStates = { ...state.awaitingStates };
  const propose = (
    brokerId: number,
    target: BrokerState | 'unregistered',
    action: CoordinatorAction,
  ): void => {
    const key = `${brokerId}:${target}`;
    const at = awaitingStates[key];
    if (at !== undefined && now - at < config.proposalTimeoutMs) return;
    awaitingStates[key] = now;
    actions.push(action);
  };

  // Liveness.
  const liveness = view.brokers.map((b) => livenessOf(state, b, heardFromMs));
  const detection = detect(liveness, now, config.detector);
  for (const f of detection.failed) {
    propose(f.brokerId, 'failed', { type: 'markBrokerFailed', brokerId: f.brokerId, cause: f.cause });
  }
  for (const a of detection.alive) {
    propose(a.brokerId, 'alive', { type: 'markBrokerAlive', brokerId: a.brokerId, cause: a.cause });
  }

  // Decommissioning ends when the broker holds nothing and no move involves it.
  const decommissioned = view.brokers.filter((b) => b.state === 'decommissioned');
  if (decommissioned.length > 0) {
    const holders = new Set([...projectedReplicas(view).values()].flat());
    for (const m of view.pendingMoves) holders.add(m.from).add(m.to);
    for (const b of decommissioned) {
      if (!holders.has(b.id)) propose(b.id, 'unregistered', { type: 'unregisterBroker', brokerId: b.id });
    }
  }

  // Active probes: every broker whose process still heartbeats, so a stuck one is caught.
  let { probesInFlight, probeFailures, lastProbeRoundMs } = state;
  if (lastProbeRoundMs === null || now - lastProbeRoundMs >= config.probeIntervalMs) {
    lastProbeRoundMs = now;
    const inFlight = { ...probesInFlight };
    for (const b of liveness) {
      if (b.state === 'decommissioned' || !heartbeatFresh(b, now, config.detector)) continue;
      const sentAt = inFlight[b.id];
      if (sentAt !== undefined) {
        // The driver always reports a result; one lost anyway counts as a timeout.
        if (now - sentAt < 2 * config.probeTimeoutMs) continue;
        probeFailures = recordProbe(probeFailures, b.id, false);
      }
      inFlight[b.id] = now;
      actions.push({ type: 'probeBroker', brokerId: b.id, timeoutMs: config.probeTimeoutMs });
    }
    probesInFlight = inFlight;
  }

  // Rebalance: periodic, on triggers, and when a failed broker's grace runs out.
  let { planInFlight, rebalanceDue, lastRebalanceMs, imbalanceScore, balancedAtMs } = state;
  if (planInFlight !== null && now - planInFlight.atMs >= config.proposalTimeoutMs) planInFlight = null;
  const graceExpired = view.brokers.some((b) => {
    if (b.state !== 'failed') return false;
    const expiresMs = b.stateSinceMs + config.failedGraceMs;
    return expiresMs <= now && (lastRebalanceMs === null || expiresMs > lastRebalanceMs);
  });
  const periodic = lastRebalanceMs === null || now - lastRebalanceMs >= config.rebalanceIntervalMs;
  // A partition's balance spacing (below) ended since the last plan: a move it held may go ahead now.
  const lastPlanMs = lastRebalanceMs;
  const spacingEnded =
    lastPlanMs !== null &&
    Object.values(balancedAtMs).some((at) => {
      const endsMs = at + balanceSpacingMs(config);
      return endsMs > lastPlanMs && endsMs <= now;
    });
  if (planInFlight === null && (rebalanceDue || periodic || graceExpired || spacingEnded)) {
    const plan = planRebalance(view, {
      nowMs: now,
      failedGraceMs: config.failedGraceMs,
      concurrentMovesMax: config.concurrentMovesMax,
      replicaScoreMax: config.replicaScoreMax,
    });
    imbalanceScore = plan.imbalanceScore;
    lastRebalanceMs = now;
    // A new coordinator (or one whose commits stalled) gives every broker a fresh heartbeat window, so for
    // one heartbeat timeout it cannot tell a broker that just died from a live one: it moves leadership only
    // off brokers already known failed until then (a preferred-leader change could hand a partition to the
    // dead broker).
    const since = livenessSinceMs(state);
    const livenessKnown = since === null || now - since >= config.detector.heartbeatTimeoutMs;
    const allowed = livenessKnown
      ? plan.leaderChanges
      : plan.leaderChanges.filter((c) => c.reason === 'leader-unavailable');
    rebalanceDue = allowed.length < plan.leaderChanges.length;
    // Balance spacing (balanceSpacingMs). Leaders follow each choice at once (leader-steering.ts), so the
    // spacing lives here. A leader that is unavailable is replaced at once.
    const leaderChanges = allowed.filter(
      (c) =>
        c.reason === 'leader-unavailable' ||
        now - (balancedAtMs[partitionKey(c.topic, c.partition)] ?? Number.NEGATIVE_INFINITY) >=
          balanceSpacingMs(config),
    );
    if (leaderChanges.length > 0) {
      balancedAtMs = {
        ...balancedAtMs,
        ...Object.fromEntries(leaderChanges.map((c) => [partitionKey(c.topic, c.partition), now])),
      };
    }
    if (plan.moves.length > 0) actions.push({ type: 'proposeReplicaMoves', moves: plan.moves });
    if (leaderChanges.length > 0) actions.push({ type: 'proposeLeaderChanges', changes: leaderChanges });
    if (plan.moves.length > 0 || leaderChanges.length > 0)
      planInFlight = { atMs: now, version: view.version };
  }

  return {
    state: {
      ...state,
      awaitingStates,
      probesInFlight,
      probeFailures,
      lastProbeRoundMs,
      planInFlight,
      rebalanceDue,
      lastRebalanceMs,
      imbalanceScore,
      balancedAtMs,
    },
    actions,
  };
}
