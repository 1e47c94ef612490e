/**
 * The V8 flags every broker process runs with. Every launcher passes them: `npm start`, the Dockerfile's
 * ENTRYPOINT, the systemd unit, the Kubernetes StatefulSet, `streambus dev-cluster` and the chaos harness
 * (test/deploy/node-flags.test.ts keeps them in agreement).
 *
 * Why: a replicating broker allocates a buffer per record-batch frame it receives (about 1 MiB each, outside
 * the JS heap). With V8's default 16 MiB semi-spaces, the heap's other garbage triggers scavenges often
 * enough that those buffers survive two of them while they wait for a quorum, get promoted, and are only
 * freed by full mark-compacts, which V8 then forces for the external memory: about a fifth of each broker's
 * main thread in a 3-broker produce benchmark. 64 MiB semi-spaces let them die young (full GCs per 200k
 * messages went from about 20 to 2-7). The young generation reserves up to three semi-spaces, 192 MiB.
 *
 * A 256 MiB initial old generation: V8 starts a full collection when the heap plus live external memory
 * passes a limit it sets to a few times the small heap after each collection. A follower keeps 50-75 MiB of
 * frames alive (the entry cache, entries waiting for the disk) next to a ~17 MiB heap, so every few MiB of new
 * frames crossed it: 13-14 full collections per 200k replicated messages on each follower, a third of its
 * time. With the larger start, 1-3. Interleaved A/B, 3-broker RF 3 publish: ~88k -> ~105k msgs/s. The old
 * generation may now hold up to 256 MiB of garbage before its first full collection.
 */
export const BROKER_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=64',
  '--initial-old-space-size=256',
];
