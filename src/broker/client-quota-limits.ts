/**
 * Which byte-rate quotas a client id gets. Precedence, per key: the client id's own override, then the
 * default of every client id (client id ''), both set at runtime (config alter --client, --client-default),
 * then the broker config's `quotas.*`. The lookup is on the produce and fetch path, so each client id's
 * answer is cached until the overrides change (they are replaced, never mutated: identity tells).
 */
import {
  CLIENT_QUOTA_KEYS,
  type ClientQuotaKey,
  type ClientQuotaOverrides,
} from '../metadata/client-quota-rules.js';
import type { ConfigEntry } from '../protocol/messages.js';
import type { QuotaLimits, QuotaLimitsSource } from './client-quotas.js';

/** Client ids cached at most; past it the cache starts again (client ids come and go). */
const CACHED_CLIENT_IDS_MAX = 10_000;

const FIELD: Readonly<Record<ClientQuotaKey, keyof QuotaLimits>> = {
  producer_byte_rate: 'producerByteRate',
  consumer_byte_rate: 'consumerByteRate',
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

/** The limits `clientId` is held to (-1: unlimited). */
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
  return { producerByteRate: pick('producer_byte_rate'), consumerByteRate: pick('consumer_byte_rate') };
}

export class ClientQuotaLimits implements QuotaLimitsSource {
  private readonly cache = new Map<string, QuotaLimits>();
  private cachedFor: ClientQuotaOverrides | undefined;

  constructor(
    private readonly broker: QuotaLimits,
    /** The overrides now (the metadata image in a cluster, the catalog file on a single node). */
    private readonly overrides: () => ClientQuotaOverrides,
  ) {}

  get enabled(): boolean {
    return (
      this.broker.producerByteRate >= 0 || this.broker.consumerByteRate >= 0 || this.overrides().size > 0
    );
  }

  limitsFor(clientId: string): QuotaLimits {
    const overrides = this.overrides();
    if (overrides !== this.cachedFor || this.cache.size >= CACHED_CLIENT_IDS_MAX) {
      this.cache.clear();
      this.cachedFor = overrides;
    }
    let limits = this.cache.get(clientId);
    if (limits === undefined) {
      limits = resolveQuotaLimits(this.broker, overrides, clientId);
      this.cache.set(clientId, limits);
    }
    return limits;
  }

  describe(clientId: string): ConfigEntry[] {
    return clientQuotaEntries(this.broker, this.overrides(), clientId);
  }
}
