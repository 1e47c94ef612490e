/**
 * Admin calls made from plain JavaScript with the wrong argument shape fail with a usage error that names
 * the expected form (INVALID_REQUEST, before anything is sent), not with an error from deep inside (QA:
 * `resources.map is not a function`, `CreatePartitions.topics[0].count must be an int32`).
 */
import { describe, expect, it } from 'vitest';
import { Admin } from '../../src/client/admin.js';
import type { Cluster } from '../../src/client/cluster.js';
import { isStreamBusError } from '../../src/errors/index.js';

/** A cluster that fails the test if the call reaches it. */
const unreachable = new Proxy({} as Cluster, {
  get: (_, name) => () => {
    throw new Error(`the call reached the cluster (${String(name)})`);
  },
});
// Plain JavaScript callers: the types do not stop them.
const admin = new Admin(unreachable) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;

async function usageError(
  call: Promise<unknown>,
): Promise<{ code: string; message: string; operation?: string }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isStreamBusError(err)) throw new Error(`expected a StreamBusError, got ${String(err)}`);
  return { code: err.code, message: err.message, ...(err.operation ? { operation: err.operation } : {}) };
}

describe('Admin argument checks', () => {
  it('createPartitions({ topic, count }) says the form it takes, and what was probably meant', async () => {
    expect(await usageError(admin.createPartitions!({ topic: 'orders', count: 6 }))).toEqual({
      code: 'INVALID_REQUEST',
      operation: 'admin.createPartitions',
      message:
        'expected { [topic]: new total partition count } or { [topic]: { count, assignments? } }, e.g. createPartitions({ orders: 6 }); got { topic, count }: did you mean createPartitions({ orders: 6 })?',
    });
    expect((await usageError(admin.createPartitions!({ orders: '6' }))).message).toMatch(
      /e\.g\. createPartitions\(\{ orders: 6 \}\); got orders: '6'$/,
    );
    expect((await usageError(admin.createPartitions!({ orders: { partitions: 6 } }))).message).toMatch(
      /got orders: \{ partitions \}$/,
    );
    expect((await usageError(admin.createPartitions!([['orders', 6]]))).message).toMatch(/got an array$/);
  });

  it('describeConfigs / alterConfigs without an array, or with a bad resource, name the resource form', async () => {
    expect(await usageError(admin.describeConfigs!({ topic: 'orders' }))).toEqual({
      code: 'INVALID_REQUEST',
      operation: 'admin.describeConfigs',
      message:
        "expected an array of { type: 'topic', name }, { type: 'cluster', name: '' } or { type: 'client', name: clientId ('' for every client id) }, e.g. describeConfigs([{ type: 'topic', name: 'orders' }]) (describeConfig() takes one); got { topic }",
    });
    expect((await usageError(admin.describeConfigs!([{ topic: 'orders' }]))).message).toBe(
      "resources[0]: expected { type: 'topic', name }, { type: 'cluster', name: '' } or { type: 'client', name: clientId ('' for every client id) }; got { topic }",
    );
    expect((await usageError(admin.describeConfig!('orders'))).message).toMatch(
      /^expected .*e\.g\. describeConfig\(\{ type: 'topic', name: 'orders' \}\); got 'orders'$/,
    );
    expect((await usageError(admin.describeConfigs!([{ type: 'clients', name: 'x' }]))).message).toMatch(
      /^resources\[0\]: expected .*type: 'client'/,
    );
    const alter = await usageError(admin.alterConfigs!({ type: 'topic', name: 'orders', set: {} }));
    expect(alter.operation).toBe('admin.alterConfigs');
    expect(alter.message).toMatch(/^expected an array of/);
    expect((await usageError(admin.alterConfig!({ name: 'orders' }, { set: {} }))).operation).toBe(
      'admin.alterConfig',
    );
  });
});
