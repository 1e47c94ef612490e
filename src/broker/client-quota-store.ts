/**
 * Where per-client-id quota overrides are kept: the replicated metadata in a cluster (alterClientQuotas, so
 * every broker applies them), a small file in the data dir on a single node (so they survive a restart).
 * Both check a change the same way first (client-quota-rules.ts).
 */
import { join } from 'node:path';
import { StreamBusError, toStreamBusError } from '../errors/index.js';
import {
  type ClientQuotaKey,
  type ClientQuotaOverrides,
  checkClientQuotaChange,
  mergeClientQuotas,
  NO_CLIENT_QUOTA_OVERRIDES,
  usesQuotaExtensions,
} from '../metadata/client-quota-rules.js';
import { FEATURE, featureNotFinalized } from '../metadata/feature-levels.js';
import type { MetadataStore } from '../metadata/store.js';
import type { AlterConfigsResource } from '../protocol/messages.js';
import { type Deadline, systemTimers, type Timers } from '../resilience/index.js';
import { CatalogReserve, isNoSpace } from '../storage/catalog-reserve.js';
import { CLIENT_QUOTAS_FILE } from '../storage/log-manager.js';
import { nodeStorageFs, type StorageFs } from '../storage/storage-fs.js';
import { SILENT_LOGGER, type StorageLogger } from '../storage/types.js';
import { untilApplied } from './until-applied.js';

export interface ClientQuotaStore {
  /** The overrides now; the same object until they change. */
  current(): ClientQuotaOverrides;
  /** Writes one client id's checked change; resolves once this broker's `current()` shows it. */
  write(
    clientId: string,
    set: Record<string, string>,
    del: readonly string[],
    deadline?: Deadline,
  ): Promise<void>;
}

const OPERATION = 'config.alter';

/** AlterConfigs of a client resource: checked (INVALID_CONFIG), then written unless `validateOnly`. */
export async function alterClientQuotas(
  store: ClientQuotaStore,
  change: AlterConfigsResource,
  validateOnly: boolean,
  deadline?: Deadline,
): Promise<void> {
  const bad = checkClientQuotaChange(change.name, change.set, change.delete);
  if (bad !== undefined) {
    throw new StreamBusError('INVALID_CONFIG', {
      operation: OPERATION,
      message: `client ${change.name === '' ? 'default' : change.name}: ${bad}`,
      metadata: { clientId: change.name },
    });
  }
  if (!validateOnly) await store.write(change.name, change.set, change.delete, deadline);
}

interface ClientQuotasFile {
  version: 1;
  /** [client id, { producer_byte_rate?, consumer_byte_rate? }], by client id. */
  clients: [string, Partial<Record<ClientQuotaKey, string>>][];
}

/**
 * Single node: `<data dir>/client-quotas.json`, written atomically (temp file, fsync, rename, fsync of the
 * folder) before the change shows, so a crash leaves the old or the new overrides, never half of them. Room
 * to rewrite it is held back as topics.json's is (catalog-reserve.ts): throttling the producer that filled
 * the disk works on that full disk.
 */
export class FileClientQuotaStore implements ClientQuotaStore {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private readonly fs: StorageFs,
    private readonly reserve: CatalogReserve,
    private overrides: ClientQuotaOverrides,
  ) {}

  static async open(
    dataDir: string,
    fs: StorageFs = nodeStorageFs,
    logger: StorageLogger = SILENT_LOGGER,
  ): Promise<FileClientQuotaStore> {
    const path = join(dataDir, CLIENT_QUOTAS_FILE);
    let raw: Buffer | null;
    try {
      raw = await fs.readFile(path);
    } catch (err) {
      throw toStreamBusError(err, 'client_quotas.read');
    }
    const overrides = raw === null ? NO_CLIENT_QUOTA_OVERRIDES : parseFile(path, raw);
    const reserve = new CatalogReserve(fs, dataDir, logger, CLIENT_QUOTAS_FILE);
    await reserve.ensure(raw?.length ?? 0);
    return new FileClientQuotaStore(path, fs, reserve, overrides);
  }

  current(): ClientQuotaOverrides {
    return this.overrides;
  }

  write(clientId: string, set: Record<string, string>, del: readonly string[]): Promise<void> {
    // One write at a time: each merges into what the one before it wrote.
    const run = this.chain.then(async () => {
      const next = mergeClientQuotas(this.overrides, clientId, set, del);
      const file: ClientQuotasFile = {
        version: 1,
        clients: [...next.entries()].map(([id, e]) => [id, { ...e }]),
      };
      const bytes = Buffer.from(`${JSON.stringify(file)}\n`);
      try {
        await this.reserve.write(bytes.length, () => this.fs.writeFileAtomic(this.path, bytes));
      } catch (err) {
        if (!isNoSpace(err)) throw toStreamBusError(err, 'client_quotas.write');
        throw new StreamBusError('DISK_FULL', {
          operation: 'client_quotas.write',
          message: `${this.path} not written: the disk is full and its reserve is used up (the change is not applied; free space and retry)`,
          metadata: { file: this.path },
          cause: err,
        });
      }
      this.overrides = next;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

function parseFile(path: string, raw: Buffer): ClientQuotaOverrides {
  const corrupt = (why: string): never => {
    throw new StreamBusError('CORRUPT_LOG', {
      operation: 'client_quotas.read',
      message: `${path} is not a client quota file (${why}); fix or remove it (its overrides are then lost)`,
      metadata: { file: path },
    });
  };
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    return corrupt((err as Error).message);
  }
  const d = doc as Partial<ClientQuotasFile> | null;
  if (typeof d !== 'object' || d === null || d.version !== 1 || !Array.isArray(d.clients)) {
    return corrupt('expected { version: 1, clients: [...] }');
  }
  let overrides: ClientQuotaOverrides = NO_CLIENT_QUOTA_OVERRIDES;
  for (const entry of d.clients) {
    const [clientId, values] = Array.isArray(entry) ? entry : [];
    if (typeof clientId !== 'string' || typeof values !== 'object' || values === null) {
      return corrupt('a client entry is not [clientId, { key: value }]');
    }
    const set = values as Record<string, string>;
    const bad = checkClientQuotaChange(clientId, set, []);
    if (bad !== undefined) return corrupt(bad);
    overrides = mergeClientQuotas(overrides, clientId, set, []);
  }
  return overrides;
}

/**
 * Cluster mode: one alterClientQuotas metadata command per change, refused before it is written while the
 * cluster's feature level is below FEATURE.clientQuotas (an older replica could not decode it).
 */
export class MetadataClientQuotaStore implements ClientQuotaStore {
  constructor(
    private readonly store: Pick<
      MetadataStore,
      'snapshotView' | 'readLinearizable' | 'alterClientQuotas' | 'stateMachine'
    >,
    /** How long a write waits for this broker's replica to apply it. */
    private readonly applyWaitMs: number,
    private readonly timers: Timers = systemTimers,
  ) {}

  current(): ClientQuotaOverrides {
    return this.store.snapshotView().clientQuotas;
  }

  async write(
    clientId: string,
    set: Record<string, string>,
    del: readonly string[],
    deadline?: Deadline,
  ): Promise<void> {
    const view = await this.store.readLinearizable(deadline?.signal);
    if (view.featureLevel < FEATURE.clientQuotas) {
      throw featureNotFinalized(view, FEATURE.clientQuotas, 'client quota overrides need', OPERATION);
    }
    if (view.featureLevel < FEATURE.clientQuotaExtensions && usesQuotaExtensions(set)) {
      throw featureNotFinalized(
        view,
        FEATURE.clientQuotaExtensions,
        'an unlimited (-1) or request_percentage quota override needs',
        OPERATION,
      );
    }
    const result = await this.store.alterClientQuotas(
      { clientId, set, delete: del },
      deadline === undefined ? {} : { deadline },
    );
    await this.appliedHere(result.version, deadline);
  }

  private appliedHere(version: number, deadline: Deadline | undefined): Promise<void> {
    const sm = this.store.stateMachine;
    return untilApplied(sm, () => sm.version >= version, this.applyWaitMs, this.timers, deadline);
  }
}
