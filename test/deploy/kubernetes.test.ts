/**
 * deploy/kubernetes is valid Kubernetes (every document against the API schemas of kubernetes-models)
 * and keeps the promises the broker depends on: probes hit endpoints the broker serves, the grace period
 * outlasts the drain, the PDB keeps the metadata quorum, the ConfigMap is a config the broker accepts,
 * and the start command gives each pod its own broker id and advertised address.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BROKER_NODE_FLAGS } from '../../src/broker/node-flags.js';
import { loadConfig } from '../../src/config/index.js';
import { requireDist } from '../helpers/acked-producer.js';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker-process.js';
import {
  findKind,
  get,
  getArray,
  getNumber,
  getObject,
  getString,
  isObject,
  type Json,
  type JsonObject,
  KUBERNETES_DIR,
  loadKubernetesDocuments,
  REPO,
  yamlFiles,
} from './manifests.js';

/** Model constructors by apiVersion/kind; `.validate()` checks a document against the API schema. */
const MODELS: Record<string, (body: JsonObject) => { validate(): void }> = {
  'v1/ConfigMap': (b) => new ConfigMap(b as ConstructorParameters<typeof ConfigMap>[0]),
  'v1/Service': (b) => new Service(b as ConstructorParameters<typeof Service>[0]),
  'apps/v1/StatefulSet': (b) => new StatefulSet(b as ConstructorParameters<typeof StatefulSet>[0]),
  'policy/v1/PodDisruptionBudget': (b) =>
    new PodDisruptionBudget(b as ConstructorParameters<typeof PodDisruptionBudget>[0]),
};

const docs = loadKubernetesDocuments();
const objects = docs.filter((d) => d.body.kind !== 'Kustomization');
const statefulSet = findKind(docs, 'StatefulSet', 'streambus');
const podSpec = getObject(statefulSet, 'spec', 'template', 'spec');
const container = getObject(podSpec, 'containers', 0);
const configMap = findKind(docs, 'ConfigMap', 'streambus-config');
const configYaml = getString(configMap, 'data', 'streambus.yaml');

function validateModel(body: JsonObject): void {
  const key = `${String(body.apiVersion)}/${String(body.kind)}`;
  const make = MODELS[key];
  if (make === undefined) throw new Error(`no schema for ${key}: add its kubernetes-models class to MODELS`);
  make(body).validate();
}

function containerPort(name: string): number {
  const port = getArray(container, 'ports').find((p) => get(p, 'name') === name);
  if (port === undefined) throw new Error(`container has no port named ${name}`);
  return getNumber(port, 'containerPort');
}

function startScript(): string {
  const command = getArray(container, 'command');
  expect(command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
  return getString(command, 2);
}

describe('manifests are valid Kubernetes objects', () => {
  test('every document of every YAML file validates against its API schema', () => {
    expect(objects.length).toBeGreaterThanOrEqual(5);
    for (const doc of objects) {
      expect(
        () => validateModel(doc.body),
        `${doc.file} #${doc.index} ${String(doc.body.kind)}`,
      ).not.toThrow();
    }
  });

  test('the schema check rejects a malformed StatefulSet (it is not vacuous)', () => {
    const broken = structuredClone(statefulSet);
    getObject(broken, 'spec').replicas = 'three';
    expect(() => validateModel(broken)).toThrow();
  });

  test('kustomization.yaml lists exactly the manifest files', () => {
    const kustomization = findKind(docs, 'Kustomization');
    const listed = getArray(kustomization, 'resources').map(String).sort();
    expect(listed).toEqual(yamlFiles(KUBERNETES_DIR).filter((f) => f !== 'kustomization.yaml'));
  });

  test('every Service and the PDB select the StatefulSet pods; serviceName is a headless Service', () => {
    const podLabels = getObject(statefulSet, 'spec', 'template', 'metadata', 'labels');
    const matches = (selector: JsonObject): boolean =>
      Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => podLabels[k] === v);
    expect(matches(getObject(statefulSet, 'spec', 'selector', 'matchLabels'))).toBe(true);
    for (const svc of objects.filter((d) => d.body.kind === 'Service')) {
      expect(
        matches(getObject(svc.body, 'spec', 'selector')),
        String(get(svc.body, 'metadata', 'name')),
      ).toBe(true);
      for (const port of getArray(svc.body, 'spec', 'ports')) {
        // A named targetPort that no container port has silently routes nowhere.
        expect(() => containerPort(getString(port, 'targetPort'))).not.toThrow();
      }
    }
    expect(matches(getObject(findKind(docs, 'PodDisruptionBudget'), 'spec', 'selector', 'matchLabels'))).toBe(
      true,
    );
    const headless = findKind(docs, 'Service', getString(statefulSet, 'spec', 'serviceName'));
    expect(get(headless, 'spec', 'clusterIP')).toBe('None');
    expect(get(headless, 'spec', 'publishNotReadyAddresses')).toBe(true);
  });
});

describe('manifests keep the broker promises', () => {
  test('the ConfigMap is a config the broker loads, with its data dir on the volume claim', () => {
    const config = loadConfig({ yamlText: configYaml, env: {} });
    const mounts = getArray(container, 'volumeMounts');
    const dataMount = mounts.find((m) => get(m, 'name') === 'data');
    expect(getString(dataMount ?? null, 'mountPath')).toBe(config.broker.dataDir);
    const claims = getArray(statefulSet, 'spec', 'volumeClaimTemplates').map((c) =>
      get(c, 'metadata', 'name'),
    );
    expect(claims).toContain('data');
    expect(containerPort('http')).toBe(config.health.http.port);
    expect(containerPort('client')).toBe(9092);
    expect(config.broker.listen).toMatch(/:9092$/);
  });

  test('the start command reads the ConfigMap where it is mounted', () => {
    const configMount = getArray(container, 'volumeMounts').find((m) => get(m, 'name') === 'config');
    const volume = getArray(podSpec, 'volumes').find((v) => get(v, 'name') === 'config');
    expect(get(volume ?? null, 'configMap', 'name')).toBe('streambus-config');
    expect(startScript()).toContain(`--config ${getString(configMount ?? null, 'mountPath')}/streambus.yaml`);
  });

  test('terminationGracePeriodSeconds outlasts shutdown.timeout_ms, so the drain ends before SIGKILL', () => {
    const config = loadConfig({ yamlText: configYaml, env: {} });
    const graceSeconds = getNumber(podSpec, 'terminationGracePeriodSeconds');
    // Leave room for the readiness flip to propagate before the drain budget starts counting.
    expect(graceSeconds * 1000).toBeGreaterThanOrEqual(config.shutdown.timeoutMs + 10_000);
  });

  test('the PodDisruptionBudget keeps a majority of metadata voters up', () => {
    const replicas = getNumber(statefulSet, 'spec', 'replicas');
    expect([3, 5]).toContain(replicas);
    const quorum = Math.floor(replicas / 2) + 1;
    const spec = getObject(findKind(docs, 'PodDisruptionBudget'), 'spec');
    const maxUnavailable = typeof spec.maxUnavailable === 'number' ? spec.maxUnavailable : undefined;
    const minAvailable = typeof spec.minAvailable === 'number' ? spec.minAvailable : undefined;
    const guaranteedUp = minAvailable ?? replicas - (maxUnavailable ?? replicas);
    expect(guaranteedUp).toBeGreaterThanOrEqual(quorum);
    // And a drain can still make progress: one broker at a time may go.
    expect(guaranteedUp).toBeLessThan(replicas);
  });

  test('brokers never share a node (required anti-affinity on the hostname)', () => {
    const terms = getArray(
      podSpec,
      'affinity',
      'podAntiAffinity',
      'requiredDuringSchedulingIgnoredDuringExecution',
    );
    expect(terms.map((t) => get(t, 'topologyKey'))).toContain('kubernetes.io/hostname');
  });

  test('the container has resource requests and a memory limit, and runs as non-root', () => {
    expect(get(container, 'resources', 'requests', 'cpu')).toBeDefined();
    expect(get(container, 'resources', 'requests', 'memory')).toBeDefined();
    expect(get(container, 'resources', 'limits', 'memory')).toBeDefined();
    expect(get(podSpec, 'securityContext', 'runAsNonRoot')).toBe(true);
  });
});

test("the StatefulSet runs the image's own program (ENTRYPOINT + CMD) as the image's user (node, uid 1000)", () => {
  const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
  const execForm = (keyword: string): string[] => {
    const matches = [...dockerfile.matchAll(new RegExp(`^${keyword} (\\[.*\\])$`, 'gm'))];
    return JSON.parse(matches[matches.length - 1]?.[1] ?? '[]') as string[];
  };
  const program = [...execForm('ENTRYPOINT'), ...execForm('CMD')].join(' ');
  expect(program).toBe(['node', ...BROKER_NODE_FLAGS, 'dist/cmd/streambus.js', 'broker'].join(' '));
  expect(startScript()).toMatch(new RegExp(`^exec ${program} `, 'm'));
  expect(dockerfile).toMatch(/^USER node$/m);
  expect(get(podSpec, 'securityContext', 'runAsUser')).toBe(1000);
});

describe('the start command maps the pod ordinal to a broker identity', () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir('streambus-k8s-');
  });
  afterAll(() => removeDir(dir));

  /** Runs the container's shell script with a stand-in `node` on PATH that prints its argv and env. */
  function runStartScript(hostname: string): { args: string[]; env: Record<string, string> } {
    const fakeNode = join(dir, 'node');
    writeFileSync(fakeNode, '#!/bin/sh\nprintf "%s\\n" "$@"\necho ---\nenv\n');
    chmodSync(fakeNode, 0o755);
    const env: Record<string, string> = { PATH: `${dir}:/usr/bin:/bin`, HOSTNAME: hostname };
    for (const e of getArray(container, 'env')) {
      const value = get(e, 'value');
      env[getString(e, 'name')] = typeof value === 'string' ? value : 'streambus-test-ns';
    }
    const r = spawnSync('/bin/sh', ['-c', startScript()], { env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [argText = '', envText = ''] = r.stdout.split('---\n');
    const printed: Record<string, string> = {};
    for (const line of envText.split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) printed[line.slice(0, eq)] = line.slice(eq + 1);
    }
    return { args: argText.split('\n').filter((l) => l !== ''), env: printed };
  }

  test.each([
    ['streambus-0', '1'],
    ['streambus-2', '3'],
    ['streambus-11', '12'],
  ])('pod %s is broker id %s and advertises its headless DNS name', (hostname, id) => {
    const { args, env } = runStartScript(hostname);
    expect(args).toEqual([
      ...BROKER_NODE_FLAGS,
      'dist/cmd/streambus.js',
      'broker',
      '--config',
      '/etc/streambus/streambus.yaml',
    ]);
    expect(env.STREAMBUS_BROKER_ID).toBe(id);
    expect(env.STREAMBUS_BROKER_ADVERTISED_LISTEN).toBe(
      `${hostname}.streambus-headless.streambus-test-ns.svc.cluster.local:9092`,
    );
    expect(env.STREAMBUS_CLUSTER_ADVERTISED_PEER_LISTEN).toBe(
      `${hostname}.streambus-headless.streambus-test-ns.svc.cluster.local:9093`,
    );
    // What the broker makes of it: the ConfigMap plus this pod's environment is a valid config.
    const config = loadConfig({ yamlText: configYaml, env });
    expect(config.broker.id).toBe(Number(id));
    expect(config.broker.advertisedListen).toBe(env.STREAMBUS_BROKER_ADVERTISED_LISTEN);
    expect(config.cluster.advertisedPeerListen).toBe(env.STREAMBUS_CLUSTER_ADVERTISED_PEER_LISTEN);
  });

  test('cluster mode: the voters are the first replicas pods by headless name, on the raft port', () => {
    const config = loadConfig({ yamlText: configYaml, env: {} });
    expect(config.cluster.enabled).toBe(true);
    expect(config.cluster.peerListen).toMatch(new RegExp(`:${containerPort('raft')}$`));
    const replicas = getNumber(statefulSet, 'spec', 'replicas');
    const headless = getString(statefulSet, 'spec', 'serviceName');
    expect(config.cluster.voters).toEqual(
      Array.from({ length: replicas }, (_, n) => ({
        id: n + 1,
        host: `streambus-${n}.${headless}`,
        port: containerPort('raft'),
      })),
    );
  });
});

describe('probes hit endpoints the broker serves', () => {
  let broker: BrokerProcess | undefined;
  beforeAll(async () => {
    requireDist();
    broker = await startBroker();
  });
  afterAll(async () => {
    if (broker === undefined) return;
    await broker.stop();
    removeDir(broker.dataDir);
  });

  test('startup, liveness and readiness probe paths answer 200 on a started broker', async () => {
    const probes: [string, Json | undefined][] = ['startupProbe', 'livenessProbe', 'readinessProbe'].map(
      (p) => [p, get(container, p)],
    );
    expect(getString(container, 'livenessProbe', 'httpGet', 'path')).toBe('/health/live');
    expect(getString(container, 'readinessProbe', 'httpGet', 'path')).toBe('/health/ready');
    for (const [name, probe] of probes) {
      expect(isObject(probe ?? null), name).toBe(true);
      expect(get(probe, 'httpGet', 'port')).toBe('http');
      const path = getString(probe, 'httpGet', 'path');
      const res = await fetch(`http://127.0.0.1:${broker?.httpPort}${path}`);
      expect(res.status, `${name} ${path}`).toBe(200);
    }
  });

  test('the prometheus.io annotations point at the metrics endpoint', async () => {
    const annotations = getObject(statefulSet, 'spec', 'template', 'metadata', 'annotations');
    expect(Number(annotations['prometheus.io/port'])).toBe(containerPort('http'));
    const res = await fetch(
      `http://127.0.0.1:${broker?.httpPort}${String(annotations['prometheus.io/path'])}`,
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('streambus_requests_in_flight');
  });
});
