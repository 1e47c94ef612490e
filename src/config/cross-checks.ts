import type { ConfigValue } from './schema.js';
import { parseHostPort } from './validate.js';
import { parseVoters } from './voters.js';

/**
 * Limits that must agree with each other, checked once at start (TigerStyle: bound everything, then check
 * the bounds against each other). Each problem names both keys.
 */
export function checkCrossKeys(values: ReadonlyMap<string, ConfigValue>): string[] {
  const num = (key: string): number => values.get(key) as number;
  const problems: string[] = [];
  const atMost = (small: string, large: string, why: string): void => {
    if (num(small) > num(large)) {
      problems.push(`${small}: must be <= ${large} (${num(small)} > ${num(large)}): ${why}`);
    }
  };
  const below = (small: string, large: string, why: string): void => {
    if (num(small) >= num(large)) {
      problems.push(`${small}: must be < ${large} (${num(small)} >= ${num(large)}): ${why}`);
    }
  };

  problems.push(...checkTls(values));
  atMost('limits.batch_bytes_max', 'limits.frame_bytes_max', 'a batch travels inside one frame');
  atMost('limits.batch_bytes_max', 'storage.segment_bytes', 'a batch must fit in one segment');
  atMost(
    'limits.batch_bytes_max',
    'limits.fetch_bytes_max',
    'a fetch must be able to return one whole batch',
  );
  atMost(
    'groups.session_timeout_min',
    'groups.session_timeout_max',
    'no consumer session timeout could satisfy both',
  );
  below(
    'resilience.timeouts.heartbeat_interval',
    'resilience.timeouts.heartbeat_timeout',
    'a broker would be marked failed between two heartbeats',
  );
  atMost(
    'resilience.circuit_breaker.success_threshold',
    'resilience.circuit_breaker.max_requests_half_open',
    'otherwise a half-open breaker can never close',
  );
  atMost(
    'resilience.retry.base_delay',
    'resilience.retry.max_delay',
    'backoff starts at base and is capped at max',
  );
  atMost(
    'resilience.timeouts.health_check',
    'health.check_interval',
    'a check must finish before the next is due',
  );

  const listen = parseHostPort(values.get('broker.listen') as string);
  const healthPort = num('health.http.port');
  const metricsPort = values.get('metrics.port') as number | null;
  const healthOn = values.get('health.http.enabled') === true;
  const metricsOn = values.get('metrics.enabled') === true;
  // Port 0 means "any free port", which never collides.
  if (listen !== undefined && listen.port !== 0) {
    if (healthOn && healthPort === listen.port) {
      problems.push(`health.http.port: ${healthPort} is already broker.listen's port`);
    }
    if (metricsOn && metricsPort !== null && metricsPort === listen.port) {
      problems.push(`metrics.port: ${metricsPort} is already broker.listen's port`);
    }
  }
  problems.push(...checkCluster(values));
  return problems;
}

/**
 * The metadata quorum list: well formed whenever set and required in cluster mode. A broker not named in it
 * joins as a non-voter through the voters it lists (then only contact points, so not held to a quorum size).
 */
function checkCluster(values: ReadonlyMap<string, ConfigValue>): string[] {
  const text = values.get('cluster.voters') as string | null;
  const enabled = values.get('cluster.enabled') === true;
  if (text === null) {
    return enabled ? ['cluster.voters: required when cluster.enabled is true'] : [];
  }
  const parsed = parseVoters(text, values.get('broker.id') as number);
  if (!parsed.ok) return [`cluster.voters: ${parsed.problem}`];
  return [];
}

/** TLS needs its certificate and key; client certificates need a CA to be checked against. */
function checkTls(values: ReadonlyMap<string, ConfigValue>): string[] {
  const problems: string[] = [];
  if (values.get('cluster.peer_tls') === true) {
    for (const key of ['broker.tls.cert_file', 'broker.tls.key_file', 'broker.tls.ca_file']) {
      if (values.get(key) === null) problems.push(`${key}: required when cluster.peer_tls is true`);
    }
  }
  if (values.get('broker.tls.enabled') !== true) return problems;
  for (const key of ['broker.tls.cert_file', 'broker.tls.key_file']) {
    if (values.get(key) === null) problems.push(`${key}: required when broker.tls.enabled is true`);
  }
  if (values.get('broker.tls.client_auth') === 'required' && values.get('broker.tls.ca_file') === null) {
    problems.push(
      'broker.tls.ca_file: required when broker.tls.client_auth is required (the CA client certificates are checked against)',
    );
  }
  return problems;
}
