/**
 * Per-client-id quota overrides (Kafka's `kafka-configs --entity-type clients`), pure: the keys, their
 * checks and how a change merges. Shared by the metadata state (cluster mode) and the single-node catalog,
 * so both accept exactly the same changes.
 */

/**
 * The keys a client resource holds (client-quotas.ts): byte rates in bytes per second, and
 * `request_percentage`, the share of the event loop's time (percent of one thread, as Kafka's) its requests
 * may take; UNLIMITED_QUOTA for no limit.
 */
export const CLIENT_QUOTA_KEYS = ['consumer_byte_rate', 'producer_byte_rate', 'request_percentage'] as const;
export type ClientQuotaKey = (typeof CLIENT_QUOTA_KEYS)[number];

/**
 * Client id -> key -> value as a decimal string, or UNLIMITED_QUOTA. The client id '' holds the default of
 * every client id (Kafka's `--entity-default`). A Map, not a record: a client id is any string, `__proto__` too.
 * Replaced, never mutated, so a holder can tell a change by identity.
 */
export type ClientQuotaOverrides = ReadonlyMap<string, Readonly<Partial<Record<ClientQuotaKey, string>>>>;

export const NO_CLIENT_QUOTA_OVERRIDES: ClientQuotaOverrides = new Map();

/** A client id is a request header string (Kafka bounds it the same way). */
export const CLIENT_ID_LENGTH_MAX = 255;

/**
 * An override's "no limit" (as the broker config's -1): it wins over the levels below it like any other
 * value, so one client id can be exempt from the default of every client id. Deleting an override instead
 * falls back to those levels.
 */
export const UNLIMITED_QUOTA = '-1';

const BYTE_RATE = /^[1-9][0-9]{0,15}$/;
/** Percent of one thread, to a hundredth: 0.01 to 100. */
const PERCENTAGE = /^[0-9]{1,3}(\.[0-9]{1,2})?$/;
export const REQUEST_PERCENTAGE_MIN = 0.01;
export const REQUEST_PERCENTAGE_MAX = 100;

/** What is wrong with `value` for `key`; undefined when it may be set. */
function badValue(key: ClientQuotaKey, value: string): string | undefined {
  if (value === UNLIMITED_QUOTA) return undefined;
  const fallBack = `, or ${UNLIMITED_QUOTA} for unlimited (delete it to fall back), not '${value}'`;
  if (key === 'request_percentage') {
    const n = Number(value);
    return PERCENTAGE.test(value) && n >= REQUEST_PERCENTAGE_MIN && n <= REQUEST_PERCENTAGE_MAX
      ? undefined
      : `${key} must be a percentage of one thread's time from ${REQUEST_PERCENTAGE_MIN} to ${REQUEST_PERCENTAGE_MAX}${fallBack}`;
  }
  return BYTE_RATE.test(value) && Number.isSafeInteger(Number(value))
    ? undefined
    : `${key} must be a positive whole number of bytes per second${fallBack}`;
}

/**
 * Whether a change sets a value a level-6 broker refuses (feature-levels.ts FEATURE.clientQuotaExtensions):
 * an unlimited override, or request_percentage.
 */
export function usesQuotaExtensions(set: Readonly<Record<string, string>>): boolean {
  return Object.entries(set).some(
    ([key, value]) => value === UNLIMITED_QUOTA || key === 'request_percentage',
  );
}

export function isClientQuotaKey(key: string): key is ClientQuotaKey {
  return (CLIENT_QUOTA_KEYS as readonly string[]).includes(key);
}

/** What is wrong with a change to one client id's overrides; undefined when it may apply. */
export function checkClientQuotaChange(
  clientId: string,
  set: Readonly<Record<string, string>>,
  del: readonly string[],
): string | undefined {
  if (clientId.length > CLIENT_ID_LENGTH_MAX) {
    return `a client id is at most ${CLIENT_ID_LENGTH_MAX} characters`;
  }
  for (const key of [...Object.keys(set), ...del]) {
    if (!isClientQuotaKey(key)) {
      return `unknown client quota key ${key} (known: ${CLIENT_QUOTA_KEYS.join(', ')})`;
    }
  }
  for (const [key, value] of Object.entries(set)) {
    const bad = isClientQuotaKey(key) ? badValue(key, value) : undefined;
    if (bad !== undefined) return bad;
    if (del.includes(key)) return `${key} is both set and deleted`;
  }
  return undefined;
}

/** The overrides with `clientId`'s changed; a client id left with no key is dropped. Sorted, so replicas agree. */
export function mergeClientQuotas(
  current: ClientQuotaOverrides,
  clientId: string,
  set: Readonly<Record<string, string>>,
  del: readonly string[],
): ClientQuotaOverrides {
  const entry: Partial<Record<ClientQuotaKey, string>> = { ...current.get(clientId) };
  for (const [key, value] of Object.entries(set)) if (isClientQuotaKey(key)) entry[key] = value;
  for (const key of del) if (isClientQuotaKey(key)) delete entry[key];
  const next = new Map(current);
  if (Object.keys(entry).length === 0) next.delete(clientId);
  else next.set(clientId, sortedEntry(entry));
  return new Map([...next.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Whether two overrides hold the same values (a change that alters nothing is not a new version). */
export function sameClientQuotas(a: ClientQuotaOverrides, b: ClientQuotaOverrides): boolean {
  if (a.size !== b.size) return false;
  for (const [id, entry] of a) {
    const other = b.get(id);
    if (other === undefined) return false;
    for (const key of CLIENT_QUOTA_KEYS) if (entry[key] !== other[key]) return false;
  }
  return true;
}

function sortedEntry(e: Partial<Record<ClientQuotaKey, string>>): Partial<Record<ClientQuotaKey, string>> {
  const out: Partial<Record<ClientQuotaKey, string>> = {};
  for (const key of CLIENT_QUOTA_KEYS) if (e[key] !== undefined) out[key] = e[key];
  return out;
}
