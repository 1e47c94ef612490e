/**
 * Which quotas a client id gets. Precedence, per key: the client id's own override, then the
 * default of every client id (client id ''), both set at runtime (config alter --client, --client-default),
 * then the broker config's `quotas.*`. The first level that has the key decides, an override of -1
 * (unlimited) too: it exempts the client id from the levels below, where deleting the override falls back
 * to them. The lookup is on the produce and fetch path, so each client id's answer is cached until the
 * overrides change (they are replaced, never mutated: identity tells).
 */
import {
  CLIENT_QUOTA_KEYS,
  type ClientQuotaKey,
  type ClientQuotaOverrides,
  UNLIMITED_QUOTA,
} from '../metadata/client-quota-rules.js';
import type { ConfigEntry } from '../protocol/messages.js';
import { anyQuota, type QuotaLimits, type QuotaLimitsSource } from './client-quotas.js';

/** Client ids cached at most; past it the cache starts again (client ids come and go). */
const CACHED_CLIENT_IDS_MAX = 10_000;

const FIELD: Readonly<Record<ClientQuotaKey, keyof QuotaLimits>> = {
  producer_byte_rate: 'producerByteRate',
  consumer_byte_rate: 'consumerByteRate',
  request_percentage: 'requestPercentage',
};

/** Every quota key of `clientId` ('' the default of every client id) with its value and where it comes from. */
export function clientQuotaEntries(
  broker: QuotaLimits,
  overrides: ClientQuotaOverrides,
  clientId: string,
): ConfigEntry[] {
  const own = overrides.get(clientId);
  const fallback = clientId === '' ? undefined : overrides.get('');
  return CLIENT_QUOTA_KEYS.map((key) => {
    const mine = own?.[key];
    if (mine !== undefined)
      return { key, value: mine, source: clientId === '' ? 'client-default' : 'client' };
    const shared = fallback?.[key];
    if (shared !== undefined) return { key, value: shared, source: 'client-default' };
    return { key, value: String(broker[FIELD[key]]), source: 'default' };
  });
}

/** The limits `clientId` is held to (-1: unlimited, from the broker config or an override). */
export function resolveQuotaLimits(
  broker: QuotaLimits,
  overrides: ClientQuotaOverrides,
  clientId: string,
): QuotaLimits {
  const own = overrides.get(clientId);
  const fallback = overrides.get('');
  const pick = (key: ClientQuotaKey): number => {
    const value = own?.[key] ?? fallback?.[key];
    return value === undefined ? broker[FIELD[key]] : Number(value);
  };
  return {
    producerByteRate: pick('producer_byte_rate'),
    consumerByteRate: pick('consumer_byte_rate'),
    requestPercentage: pick('request_percentage'),
  };
}

/** Whether any override sets a limit (one of only unlimited overrides limits nobody). */
function anyOverrideLimits(overrides: ClientQuotaOverrides): boolean {
  for (const entry of overrides.values())
    for (const key of CLIENT_QUOTA_KEYS)
      if (entry[key] !== undefined && entry[key] !== UNLIMITED_QUOTA) return true;
  return false;
}

export class ClientQuotaLimits implements QuotaLimitsSource {
  private readonly cache = new Map<string, QuotaLimits>();
  private cachedFor: ClientQuotaOverrides | undefined;
  private overridesLimit = false;

  constructor(
    private readonly broker: QuotaLimits,
    /** The overrides now (the metadata image in a cluster, the catalog file on a single node). */
    private readonly overrides: () => ClientQuotaOverrides,
  ) {}

  get enabled(): boolean {
    this.refresh();
    return anyQuota(this.broker) || this.overridesLimit;
  }

  limitsFor(clientId: string): QuotaLimits {
    const overrides = this.refresh();
    if (this.cache.size >= CACHED_CLIENT_IDS_MAX) this.cache.clear();
    let limits = this.cache.get(clientId);
    if (limits === undefined) {
      limits = resolveQuotaLimits(this.broker, overrides, clientId);
      this.cache.set(clientId, limits);
    }
    return limits;
  }

  /** The overrides now; what was derived from older ones is dropped. */
  private refresh(): ClientQuotaOverrides {
    const overrides = this.overrides();
    if (overrides !== this.cachedFor) {
      this.cache.clear();
      this.cachedFor = overrides;
      this.overridesLimit = anyOverrideLimits(overrides);
    }
    return overrides;
  }

  describe(clientId: string): ConfigEntry[] {
    return clientQuotaEntries(this.broker, this.overrides(), clientId);
  }
}
