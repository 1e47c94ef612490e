/**
 * The idempotence contract between producer and leader: the leader remembers a producer's last this many
 * batches per partition (to answer a retry of one with its original offset), and the producer never has
 * more than this many of a partition's batches between its oldest unresolved one and its newest. Kafka's
 * leader keeps 5, one per request its producer may have in flight; a StreamBus request carries several
 * batches of a partition, and at 5 the publish benchmark (1 MB batches) waited on the window: 175-222k
 * msgs/s against 240-400k at 16 (docs/benchmarks.md, "the idempotence window, A/B"), for a few dozen bytes
 * of leader memory per remembered batch.
 */
export const IDEMPOTENT_BATCH_WINDOW = 16;
