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
 */
export const BROKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
