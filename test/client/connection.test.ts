import { afterEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../src/client/cluster.js';
import { Connection } from '../../src/client/connection.js';
import { StreamBusError } from '../../src/errors/index.js';
import { ApiKey } from '../../src/protocol/index.js';
import { eventually, FakeBroker, NO_REPLY } from './fake-broker.js';

let broker: FakeBroker;
const open: Connection[] = [];

async function connect(options: Partial<Parameters<typeof Connection.connect>[0]> = {}): Promise<Connection> {
  const c = await Connection.connect({ host: broker.host, port: broker.port, ...options });
  open.push(c);
  return c;
}

async function rejection(p: Promise<unknown>): Promise<StreamBusError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(StreamBusError);
    return err as StreamBusError;
  }
  throw new Error('expected a rejection');
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await broker?.stop();
});

describe('Connection', () => {
  it('pipelines: many requests are on the wire at once and each gets its own response', async () => {
    broker = await FakeBroker.start();
    const n = 50;
    let release: () => void = () => undefined;
    const allArrived = new Promise<void>((r) => {
      release = r;
    });
    // The broker answers nothing until all n requests have arrived: only a pipelining client finishes.
    broker.handlers[ApiKey.Metadata] = async (_body, header) => {
      if (broker.requests.length === n) release();
      await allArrived;
      return { clusterId: `c${header.correlationId}`, controllerId: -1, brokers: [], topics: [] };
    };
    const c = await connect();
    const results = await Promise.all(
      Array.from({ length: n }, () => c.request(ApiKey.Metadata, { topics: null })),
    );
    const ids = broker.requests.map((r) => `c${r.header.correlationId}`);
    expect(results.map((r) => r.clusterId)).toEqual(ids);
  });

  it('never has more than maxInFlightRequests unanswered on the wire; the rest queue', async () => {
    broker = await FakeBroker.start();
    let unanswered = 0;
    let maxSeen = 0;
    broker.handlers[ApiKey.ApiVersions] = async () => {
      unanswered++;
      maxSeen = Math.max(maxSeen, unanswered);
      await new Promise((r) => setTimeout(r, 1));
      unanswered--;
      return { apis: [], brokerVersion: 'x' };
    };
    const c = await connect({ maxInFlightRequests: 4 });
    await Promise.all(Array.from({ length: 40 }, () => c.request(ApiKey.ApiVersions, {})));
    expect(broker.requests).toHaveLength(40);
    expect(maxSeen).toBeLessThanOrEqual(4);
  });

  it('a request with no response in requestTimeoutMs fails with REQUEST_TIMED_OUT; its late answer is not given to the next', async () => {
    broker = await FakeBroker.start();
    let first = true;
    broker.handlers[ApiKey.Metadata] = async () => {
      if (first) {
        first = false;
        await new Promise((r) => setTimeout(r, 150));
        return { clusterId: 'late', controllerId: -1, brokers: [], topics: [] };
      }
      return { clusterId: 'second', controllerId: -1, brokers: [], topics: [] };
    };
    const c = await connect();
    const err = await rejection(c.request(ApiKey.Metadata, { topics: null }, { timeoutMs: 20 }));
    expect(err.code).toBe('REQUEST_TIMED_OUT');
    expect(err.category).toBe('retriable');
    const second = await c.request(ApiKey.Metadata, { topics: null });
    expect(second.clusterId).toBe('second');
  });

  it('an aborted request fails with REQUEST_ABORTED and the connection keeps working', async () => {
    broker = await FakeBroker.start();
    broker.handlers[ApiKey.ApiVersions] = async () => {
      await new Promise((r) => setTimeout(r, 30));
      return { apis: [], brokerVersion: 'ok' };
    };
    const c = await connect();
    const ac = new AbortController();
    const pending = c.request(ApiKey.ApiVersions, {}, { signal: ac.signal });
    ac.abort();
    expect((await rejection(pending)).code).toBe('REQUEST_ABORTED');
    expect((await c.request(ApiKey.ApiVersions, {})).brokerVersion).toBe('ok');
  });

  it('the broker closing the socket fails in-flight and later requests with CONNECTION_CLOSED', async () => {
    broker = await FakeBroker.start();
    broker.handlers[ApiKey.ApiVersions] = () => NO_REPLY;
    const c = await connect();
    const closedWith: StreamBusError[] = [];
    c.onClose((e) => closedWith.push(e));
    const pending = c.request(ApiKey.ApiVersions, {});
    await eventually(() => broker.requests.length === 1, 'the request to arrive');
    broker.dropConnections();
    expect((await rejection(pending)).code).toBe('CONNECTION_CLOSED');
    expect((await rejection(c.request(ApiKey.ApiVersions, {}))).code).toBe('CONNECTION_CLOSED');
    expect(closedWith.map((e) => e.code)).toEqual(['CONNECTION_CLOSED']);
    expect(c.closed).toBe(true);
  });

  it('a whole-request error from the broker is raised as the catalogue error with its category', async () => {
    broker = await FakeBroker.start();
    broker.handlers[ApiKey.Metadata] = () => {
      throw new StreamBusError('NOT_LEADER', { message: 'ask broker 2' });
    };
    const c = await connect();
    const err = await rejection(c.request(ApiKey.Metadata, { topics: null }));
    expect([err.code, err.category, err.message]).toEqual(['NOT_LEADER', 'retriable', 'ask broker 2']);
  });

  it('acks=0 produce resolves once written, without waiting for a response that never comes', async () => {
    broker = await FakeBroker.start();
    broker.createTopic('t', 1);
    const c = await connect();
    const records = Buffer.alloc(0);
    const res = await c.request(ApiKey.Produce, {
      acks: 0,
      timeoutMs: 1000,
      partitions: [{ topic: 't', partition: 0, records }],
    });
    expect(res.partitions).toEqual([]);
    expect(c.inFlightCount).toBe(0);
    // The next request is matched with its own response, not a phantom one for the acks=0 request.
    const md = await c.request(ApiKey.Metadata, { topics: ['t'] });
    expect(md.topics[0]?.name).toBe('t');
  });

  it('respects write backpressure: queued requests wait for drain while the broker is not reading', async () => {
    broker = await FakeBroker.start();
    broker.createTopic('t', 1);
    const c = await connect({ maxInFlightRequests: 1000 });
    await c.request(ApiKey.ApiVersions, {});
    for (const s of broker.sockets) s.pause();
    const big = Buffer.alloc(1024 * 1024, 7);
    const sends = Array.from({ length: 64 }, () =>
      c.request(ApiKey.Produce, {
        acks: 1,
        timeoutMs: 1000,
        partitions: [{ topic: 'x', partition: 0, records: big }],
      }),
    );
    // 64 MiB cannot fit in socket buffers: the connection must be holding requests back.
    await eventually(() => c.queuedCount > 0, 'requests to queue behind backpressure');
    const queued = c.queuedCount;
    expect(queued).toBeGreaterThan(0);
    for (const s of broker.sockets) s.resume();
    const results = await Promise.all(sends);
    expect(results).toHaveLength(64);
    expect(c.queuedCount).toBe(0);
  });

  it('refuses requests beyond pendingRequestsMax instead of queueing without bound', async () => {
    broker = await FakeBroker.start();
    broker.handlers[ApiKey.ApiVersions] = () => NO_REPLY;
    const c = await connect({ maxInFlightRequests: 1, pendingRequestsMax: 2 });
    const held = [1, 2, 3].map(() =>
      c.request(ApiKey.ApiVersions, {}, { timeoutMs: 60_000 }).catch(() => undefined),
    );
    const err = await rejection(c.request(ApiKey.ApiVersions, {}));
    expect(err.code).toBe('TOO_MANY_REQUESTS_IN_FLIGHT');
    await c.close();
    await Promise.all(held);
  });

  it('cannot connect to a closed port: NETWORK_ERROR', async () => {
    broker = await FakeBroker.start();
    const port = broker.port;
    await broker.stop();
    const err = await rejection(Connection.connect({ host: '127.0.0.1', port }));
    expect(err.code).toBe('NETWORK_ERROR');
    broker = await FakeBroker.start();
  });
});

describe('Cluster reconnect', () => {
  it('reconnects after the broker drops the connection, and backs off between failed attempts', async () => {
    broker = await FakeBroker.start();
    broker.createTopic('t', 1);
    const cluster = new Cluster({
      bootstrap: [broker.bootstrap],
      reconnectBackoffMs: 1,
      reconnectBackoffMaxMs: 5,
    });
    try {
      expect((await cluster.metadata(['t'])).topics[0]?.name).toBe('t');
      const before = await cluster.connectionTo(1);
      broker.dropConnections();
      await eventually(() => before.closed, 'the old connection to close');
      const after = await cluster.connectionTo(1);
      expect(after).not.toBe(before);
      expect((await after.request(ApiKey.ApiVersions, {})).brokerVersion).toBe('fake');

      // Broker down: attempts fail with NETWORK_ERROR; once it is back, the next attempt succeeds.
      const port = broker.port;
      await broker.stop();
      await eventually(() => after.closed, 'the connection to close');
      expect((await rejection(cluster.connectionTo(1))).code).toBe('NETWORK_ERROR');
      expect((await rejection(cluster.connectionTo(1))).code).toBe('NETWORK_ERROR');
      broker = new FakeBroker();
      broker.createTopic('t', 1);
      await broker.listen(port);
      const again = await cluster.connectionTo(1);
      expect((await again.request(ApiKey.ApiVersions, {})).brokerVersion).toBe('fake');
    } finally {
      await cluster.close();
    }
  });
});

describe('Connection against a misbehaving broker', () => {
  async function rawServer(
    reply: (socket: import('node:net').Socket) => void,
  ): Promise<import('node:net').Server> {
    const { createServer } = await import('node:net');
    const server = createServer((socket) => socket.once('data', () => reply(socket)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return server;
  }

  it('a garbage response frame closes the connection: the request fails with CONNECTION_CLOSED naming the cause', async () => {
    broker = await FakeBroker.start();
    const server = await rawServer((s) => s.write(Buffer.from([0, 0, 0, 0])));
    const addr = server.address() as import('node:net').AddressInfo;
    const c = await Connection.connect({ host: '127.0.0.1', port: addr.port });
    const err = await rejection(c.request(ApiKey.ApiVersions, {}));
    expect(err.code).toBe('CONNECTION_CLOSED');
    expect((err.cause as StreamBusError).code).toBe('MALFORMED_FRAME');
    server.close();
  });

  it('a response with the wrong correlation id closes the connection', async () => {
    broker = await FakeBroker.start();
    const { encodeResponse } = await import('../../src/protocol/index.js');
    const server = await rawServer((s) =>
      s.write(encodeResponse(ApiKey.ApiVersions, 0, 12345, { apis: [], brokerVersion: 'x' })),
    );
    const addr = server.address() as import('node:net').AddressInfo;
    const c = await Connection.connect({ host: '127.0.0.1', port: addr.port });
    const err = await rejection(c.request(ApiKey.ApiVersions, {}));
    expect(err.code).toBe('CONNECTION_CLOSED');
    expect(err.message).toContain('correlation id 12345');
    server.close();
  });
});
