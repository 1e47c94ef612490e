import { SUPPORTED_FEATURE_LEVEL } from '../metadata/feature-levels.js';
import type { MetadataStore } from '../metadata/index.js';
import type { Logger } from '../observability/index.js';
import type { PeerAddress } from '../raft/transport/tcp-transport.js';

/** The writes membership needs (a narrow view, so tests can fake it). */
export type MembershipStore = Pick<MetadataStore, 'registerBroker' | 'updateBroker' | 'heartbeat'>;

export interface MembershipOptions {
  readonly store: MembershipStore;
  readonly brokerId: number;
  readonly clientAddress: PeerAddress;
  readonly peerAddress: PeerAddress;
  readonly rack: string | null;
  readonly intervalMs: number;
  readonly nowMs: () => number;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /**
   * True once this broker was decommissioned: it stops heartbeating for good (otherwise its unregistration
   * would make it register again). Restarting the process registers it anew.
   */
  readonly decommissioned?: () => boolean;
  /** Told the metadata version of each registration this loop makes (decommission-watch.ts). */
  readonly onRegistered?: (version: number) => void;
}

/**
 * This broker's life in the metadata store: register (a new epoch, state `starting`), mark `alive`, then
 * one heartbeat per interval. A heartbeat refused with UNKNOWN_BROKER (the record was removed) registers
 * again. Each write goes through the store's retry and breaker; a round that still fails is logged (once per
 * failure streak) and retried on the next interval. Resolves when `signal` aborts, or once the broker has
 * been decommissioned.
 */
export async function runMembership(o: MembershipOptions): Promise<void> {
  let registered = false;
  /** The metadata version of this incarnation's registration, named in each beat (commands.ts). */
  let registeredVersion = 0;
  let failing = false;
  const write = { signal: o.signal };
  while (!o.signal.aborted) {
    if (o.decommissioned?.() === true) {
      o.logger.warn(
        { operation: 'membership', broker_id: o.brokerId },
        'this broker was decommissioned: heartbeats stop; shut it down once its replicas have moved and it has left the registry (a restart registers it anew)',
      );
      return;
    }
    try {
      if (!registered) {
        const r = await o.store.registerBroker(
          {
            brokerId: o.brokerId,
            clientAddress: o.clientAddress,
            peerAddress: o.peerAddress,
            rack: o.rack,
            atMs: o.nowMs(),
            featureLevel: SUPPORTED_FEATURE_LEVEL,
          },
          write,
        );
        registeredVersion = r.version;
        o.onRegistered?.(r.version);
        await o.store.updateBroker({ brokerId: o.brokerId, state: 'alive' }, write);
        registered = true;
        o.logger.info(
          { operation: 'register', broker_id: o.brokerId, version: r.version },
          'broker registered',
        );
      } else {
        // The level again with every beat: an image restored from an older build's snapshot forgot it.
        await o.store.heartbeat(
          [
            {
              brokerId: o.brokerId,
              atMs: o.nowMs(),
              featureLevel: SUPPORTED_FEATURE_LEVEL,
              registeredVersion,
            },
          ],
          write,
        );
      }
      if (failing) o.logger.info({ operation: 'membership' }, 'metadata writes succeed again');
      failing = false;
    } catch (err) {
      if (o.signal.aborted) break;
      if (errorCode(err) === 'UNKNOWN_BROKER') registered = false;
      if (!failing && errorCode(err) === 'UNSUPPORTED_VERSION') {
        // The cluster finalized a feature level this build does not support: no retry will change that.
        o.logger.error(
          { operation: 'register', broker_id: o.brokerId, error: String(err) },
          'this broker cannot join the cluster: its build is older than the cluster feature level',
        );
      } else if (!failing) {
        o.logger.warn(
          { operation: registered ? 'heartbeat' : 'register', error: String(err) },
          'metadata write failed',
        );
      }
      failing = true;
    }
    await sleep(o.intervalMs, o.signal);
  }
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
