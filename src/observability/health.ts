import { type Clock, systemClock, systemTimers, type TimerHandle, type Timers } from '../resilience/clock.js';

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface CheckResult {
  readonly status: HealthStatus;
  readonly message?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface HealthCheckSpec {
  /** Unique: `storage`, `raft`, `metadata`, `coordinator`, `replicas`. */
  readonly name: string;
  /** Should honour `signal`: it aborts when the check's timeout passes. */
  readonly check: (signal: AbortSignal) => Promise<CheckResult>;
  /** Defaults to the registry's `intervalMs` (config `health.check_interval`). */
  readonly intervalMs?: number;
  /** Defaults to the registry's `timeoutMs` (config `resilience.timeouts.health_check`). */
  readonly timeoutMs?: number;
  /** Counts for readiness (default true): ready needs every critical check healthy or degraded. */
  readonly critical?: boolean;
}

export interface ComponentHealth {
  readonly name: string;
  readonly status: HealthStatus;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly critical: boolean;
  /** ISO time the last check finished (or timed out); null before the first. */
  readonly last_check: string | null;
  readonly duration_ms: number | null;
}

export interface HealthReport {
  readonly status: HealthStatus;
  readonly ready: boolean;
  readonly live: boolean;
  readonly draining: boolean;
  readonly components: readonly ComponentHealth[];
}

export interface Readiness {
  readonly ready: boolean;
  /** Why not ready (first reason found). */
  readonly reason?: string;
}

export interface HealthRegistryOptions {
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Told of each check that runs out of time, as `health.<name>` (streambus_timeouts_total and a log). */
  readonly onTimeout?: (operation: string, timeoutMs: number) => void;
}

export interface HealthChangeEvent {
  readonly name: string;
  readonly previous: HealthStatus | undefined;
  readonly current: ComponentHealth;
}

interface Entry {
  readonly spec: HealthCheckSpec;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly critical: boolean;
  result: ComponentHealth;
  /** A run whose check has not returned yet (possibly past its timeout). */
  inFlight: Run | undefined;
  timer: TimerHandle | undefined;
  generation: number;
}

interface Run {
  readonly generation: number;
  readonly startedMs: number;
  readonly settled: Promise<void>;
  readonly controller: AbortController;
  timedOut: boolean;
}

const RANK: Record<HealthStatus, number> = { healthy: 2, degraded: 1, unhealthy: 0 };

/**
 * Component health checks, each on its own interval and timeout, with results cached so HTTP probes
 * answer from memory in microseconds even while a check hangs. A hanging check is reported unhealthy
 * ("timed out after X ms") and never blocks the others; while it still hangs no second copy is started.
 */
export class HealthRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(event: HealthChangeEvent) => void>();
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly onTimeout: ((operation: string, timeoutMs: number) => void) | undefined;
  private running = false;
  private draining = false;
  private retired: string | undefined;
  private fatal: string | undefined;

  constructor(options: HealthRegistryOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.intervalMs = options.intervalMs ?? 5000;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.onTimeout = options.onTimeout;
  }

  register(spec: HealthCheckSpec): void {
    if (this.entries.has(spec.name)) throw new Error(`health check ${spec.name} registered twice`);
    const critical = spec.critical ?? true;
    const entry: Entry = {
      spec,
      intervalMs: spec.intervalMs ?? this.intervalMs,
      timeoutMs: spec.timeoutMs ?? this.timeoutMs,
      critical,
      result: {
        name: spec.name,
        status: 'unhealthy',
        message: 'not checked yet',
        critical,
        last_check: null,
        duration_ms: null,
      },
      inFlight: undefined,
      timer: undefined,
      generation: 0,
    };
    this.entries.set(spec.name, entry);
    if (this.running) void this.runEntry(entry);
  }

  unregister(name: string): void {
    const entry = this.entries.get(name);
    if (entry === undefined) return;
    if (entry.timer !== undefined) this.timers.clearTimeout(entry.timer);
    entry.generation++;
    entry.inFlight?.controller.abort(new Error('health check unregistered'));
    this.entries.delete(name);
  }

  /** Runs every check now, then each on its interval. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const entry of this.entries.values()) void this.runEntry(entry);
  }

  /** Stops scheduling; running checks are aborted; cached results stay readable. */
  stop(): void {
    this.running = false;
    for (const entry of this.entries.values()) {
      if (entry.timer !== undefined) this.timers.clearTimeout(entry.timer);
      entry.timer = undefined;
      entry.generation++;
      entry.inFlight?.controller.abort(new Error('health registry stopped'));
    }
  }

  /** Runs one check (or all) now and resolves when the results are cached; e.g. right after partitions load. */
  async refresh(name?: string): Promise<void> {
    const targets = name === undefined ? [...this.entries.values()] : [this.entries.get(name)];
    await Promise.all(targets.map((entry) => (entry === undefined ? undefined : this.runEntry(entry))));
  }

  /** Draining brokers report not ready first, so load balancers stop sending work before anything closes. */
  setDraining(draining: boolean): void {
    this.draining = draining;
  }

  isDraining(): boolean {
    return this.draining;
  }

  /**
   * The broker has nothing left to serve for good (decommissioned and removed from the cluster): not ready,
   * so load balancers and Services stop sending clients to it, yet live and healthy, so nothing restarts it
   * (a restart would register it anew) and no check pages anyone for it.
   */
  setRetired(reason: string): void {
    this.retired = reason;
  }

  /** After a broken invariant: liveness fails so the orchestrator restarts the process. */
  setFatal(message: string): void {
    this.fatal = message;
  }

  liveness(): { live: boolean; reason?: string } {
    return this.fatal === undefined ? { live: true } : { live: false, reason: this.fatal };
  }

  readiness(): Readiness {
    if (this.fatal !== undefined) return { ready: false, reason: `fatal: ${this.fatal}` };
    if (this.draining) return { ready: false, reason: 'draining' };
    if (this.retired !== undefined) return { ready: false, reason: this.retired };
    for (const entry of this.entries.values()) {
      if (entry.critical && entry.result.status === 'unhealthy') {
        return { ready: false, reason: `${entry.spec.name}: ${entry.result.message}` };
      }
    }
    return { ready: true };
  }

  /** One component's cached result, or undefined if no such check. */
  component(name: string): ComponentHealth | undefined {
    return this.entries.get(name)?.result;
  }

  /**
   * Overall: unhealthy if a critical check is unhealthy, degraded if anything else is short of healthy,
   * otherwise healthy.
   */
  report(): HealthReport {
    const components = [...this.entries.values()].map((e) => e.result);
    let status: HealthStatus = 'healthy';
    for (const c of components) {
      const effective: HealthStatus = c.status === 'unhealthy' && !c.critical ? 'degraded' : c.status;
      if (RANK[effective] < RANK[status]) status = effective;
    }
    if (this.fatal !== undefined) status = 'unhealthy';
    return {
      status,
      ready: this.readiness().ready,
      live: this.fatal === undefined,
      draining: this.draining,
      components,
    };
  }

  /** Called whenever a check's status changes (for logs and the streambus_health_check_status gauge). */
  subscribe(listener: (event: HealthChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private runEntry(entry: Entry): Promise<void> {
    // A run from before stop()/start() is stale: start afresh rather than wait on it.
    const previousRun = entry.inFlight?.generation === entry.generation ? entry.inFlight : undefined;
    if (previousRun !== undefined && !previousRun.timedOut) return previousRun.settled;
    if (previousRun !== undefined) {
      // Still hanging past its timeout: report that instead of piling up another copy of the check.
      const now = this.clock.nowMs();
      this.record(
        entry,
        {
          status: 'unhealthy',
          message: `timed out after ${entry.timeoutMs}ms; still not returned after ${now - previousRun.startedMs}ms`,
        },
        now,
        null,
      );
      this.schedule(entry, entry.generation);
      return Promise.resolve();
    }
    const generation = entry.generation;
    const controller = new AbortController();
    let settle: () => void = () => {};
    const run: Run = {
      generation,
      startedMs: this.clock.nowMs(),
      timedOut: false,
      controller,
      settled: new Promise<void>((resolve) => {
        settle = resolve;
      }),
    };
    entry.inFlight = run;

    const finish = (result: CheckResult): void => {
      const now = this.clock.nowMs();
      if (entry.generation === generation) this.record(entry, result, now, now - run.startedMs);
      settle();
      this.schedule(entry, generation);
    };

    const timeout = this.timers.setTimeout(() => {
      run.timedOut = true;
      controller.abort(new Error(`health check timed out after ${entry.timeoutMs}ms`));
      finish({ status: 'unhealthy', message: `timed out after ${entry.timeoutMs}ms` });
      this.onTimeout?.(`health.${entry.spec.name}`, entry.timeoutMs);
    }, entry.timeoutMs);

    void (async (): Promise<void> => {
      let result: CheckResult;
      try {
        result = await entry.spec.check(controller.signal);
      } catch (err) {
        result = { status: 'unhealthy', message: err instanceof Error ? err.message : String(err) };
      }
      this.timers.clearTimeout(timeout);
      if (entry.inFlight === run) entry.inFlight = undefined;
      // A run that timed out has already been reported; its late answer is dropped.
      if (!run.timedOut) finish(result);
    })();
    return run.settled;
  }

  private schedule(entry: Entry, generation: number): void {
    if (!this.running || entry.generation !== generation || entry.timer !== undefined) return;
    entry.timer = this.timers.setTimeout(() => {
      entry.timer = undefined;
      void this.runEntry(entry);
    }, entry.intervalMs);
  }

  private record(entry: Entry, result: CheckResult, nowMs: number, durationMs: number | null): void {
    const previous = entry.result.last_check === null ? undefined : entry.result.status;
    const current: ComponentHealth = {
      name: entry.spec.name,
      status: result.status,
      message: result.message ?? (result.status === 'healthy' ? 'ok' : result.status),
      ...(result.details === undefined ? {} : { details: result.details }),
      critical: entry.critical,
      last_check: new Date(nowMs).toISOString(),
      duration_ms: durationMs,
    };
    entry.result = current;
    if (previous !== current.status) {
      for (const listener of this.listeners) listener({ name: entry.spec.name, previous, current });
    }
  }
}
