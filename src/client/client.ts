/**
 * The SDK entry point: one client per application, sharing metadata and broker connections among the
 * producers, consumers and admin it creates.
 *
 *   const client = createClient({ bootstrap: ['localhost:9092'] });
 *   await client.admin().createTopic({ name: 'orders', partitions: 3 });
 *   const producer = client.producer();
 *   await producer.send({ topic: 'orders', messages: [{ key: 'k', value: 'v' }] });
 */
import { StreamBusError } from '../errors/index.js';
import { Admin, type AdminOptions } from './admin.js';
import { Cluster, type ClusterOptions } from './cluster.js';
import { Consumer, type ConsumerOptions } from './consumer.js';
import { Producer } from './producer.js';
import type { ProducerOptions } from './producer-options.js';

export type ClientOptions = Omit<ClusterOptions, 'bootstrap'> & {
  /** `host:port` strings, or one comma-separated string. */
  bootstrap: string[] | string;
};

export class StreamBusClient {
  readonly cluster: Cluster;
  private readonly children: { close(): Promise<void> }[] = [];
  private closed = false;

  constructor(options: ClientOptions) {
    const bootstrap =
      typeof options.bootstrap === 'string'
        ? options.bootstrap
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '')
        : options.bootstrap;
    this.cluster = new Cluster({ ...options, bootstrap });
  }

  producer(options?: ProducerOptions): Producer {
    this.checkOpen('client.producer');
    const p = new Producer(this.cluster, options);
    this.children.push(p);
    return p;
  }

  consumer(options?: ConsumerOptions): Consumer {
    this.checkOpen('client.consumer');
    const c = new Consumer(this.cluster, options);
    this.children.push(c);
    return c;
  }

  admin(options?: AdminOptions): Admin {
    this.checkOpen('client.admin');
    return new Admin(this.cluster, options);
  }

  /** Flushes producers, stops consumers, closes every connection. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.children.splice(0).map((c) => c.close()));
    await this.cluster.close();
  }

  /** A producer made after close() would retry its sends against closed connections until they time out. */
  private checkOpen(operation: string): void {
    if (this.closed) {
      throw new StreamBusError('CLIENT_CLOSED', { operation, message: 'client is closed' });
    }
  }
}

export function createClient(options: ClientOptions): StreamBusClient {
  return new StreamBusClient(options);
}
