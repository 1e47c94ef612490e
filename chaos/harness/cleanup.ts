/**
 * Everything a run must undo (broker processes, nft tables, tmpfs mounts, temp dirs), registered as it is
 * created. `runAll` undoes it in reverse order on the normal path; if the harness dies (uncaught error,
 * SIGINT, SIGTERM) the synchronous versions run from the exit handler, so no rule or mount outlives it.
 */
export interface CleanupStep {
  name: string;
  run(): Promise<void>;
  /** Best effort from a dying process: no awaits allowed there. */
  runSync(): void;
}

export class Cleanup {
  private steps: CleanupStep[] = [];
  private installed = false;

  add(step: CleanupStep): () => void {
    this.steps.push(step);
    return () => {
      this.steps = this.steps.filter((s) => s !== step);
    };
  }

  async runAll(log: (m: string) => void = () => {}): Promise<void> {
    const steps = this.steps.reverse();
    this.steps = [];
    for (const step of steps) {
      try {
        await step.run();
      } catch (err) {
        log(`cleanup ${step.name} failed: ${(err as Error).message}`);
        try {
          step.runSync();
        } catch {
          // nothing more to try
        }
      }
    }
  }

  runAllSync(): void {
    const steps = this.steps.reverse();
    this.steps = [];
    for (const step of steps) {
      try {
        step.runSync();
      } catch {
        // keep going: the next step may still succeed
      }
    }
  }

  /** Installs process handlers once; returns a function that removes them. */
  installExitHandlers(): () => void {
    if (this.installed) return () => {};
    this.installed = true;
    const onExit = (): void => this.runAllSync();
    const onSignal = (signal: NodeJS.Signals): void => {
      this.runAllSync();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.on('exit', onExit);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    return () => {
      process.off('exit', onExit);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      this.installed = false;
    };
  }
}
