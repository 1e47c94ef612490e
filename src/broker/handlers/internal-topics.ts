import { StreamBusError } from '../../errors/index.js';

/**
 * Topics named `__*` belong to the broker (`__consumer_offsets` holds every group's committed offsets):
 * clients may read them, never write, create, delete or grow them.
 */
export function assertNotInternal(topic: string, operation: string): void {
  if (!topic.startsWith('__')) return;
  throw new StreamBusError('INTERNAL_TOPIC', {
    operation,
    message: `${topic} is an internal topic: only the broker writes, creates, deletes or grows it`,
    metadata: { topic },
  });
}
