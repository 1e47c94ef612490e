/**
 * Compaction of `__consumer_offsets` by rewriting: every `checkpointIntervalMs` a shard appends its whole
 * live state (each group's committed offsets and last generation) at the end of the log. The topic's time
 * retention is four times that, so a segment old enough to be deleted holds only records a checkpoint has
 * superseded. Kept apart from the shard because it is a schedule of its own, not part of any request.
 */
import type { Logger } from '../../observability/index.js';
import type { ProducerRecord } from '../../protocol/record-batch.js';
import { committedForEarlierTopic, groupRecord, offsetRecord } from './offsets-records.js';
import type { OffsetsState } from './offsets-state.js';
import type { OffsetsWriter } from './offsets-writer.js';

/** Records per checkpoint batch (a batch must stay well under the broker's batch size limit). */
const CHECKPOINT_BATCH_RECORDS = 500;
const CHECKPOINT_RETRY_MS = 5_000;

export interface OffsetsCheckpointDeps {
  readonly nowMs: () => number;
  /** How often the live state is rewritten (a quarter of the topic's retention). */
  readonly checkpointIntervalMs: number;
  readonly logger: Logger;
  /** The topic's current incarnation (TopicInfo.incarnation); offsets of an earlier one are not rewritten. */
  readonly topicIncarnation?: (topic: string) => number | undefined;
}

export class OffsetsCheckpoint {
  private nextCheckpointMs: number;
  private checkpointing = false;

  constructor(
    private readonly deps: OffsetsCheckpointDeps,
    private readonly state: OffsetsState,
    private readonly writer: OffsetsWriter,
  ) {
    this.nextCheckpointMs = deps.nowMs() + deps.checkpointIntervalMs;
  }

  /** From the shard's tick: starts a checkpoint when one is due and none is running. */
  runIfDue(now: number): void {
    if (now >= this.nextCheckpointMs && !this.checkpointing) void this.run();
  }

  /** Rewrites every live record (offsets, generations) at the end of the log. */
  async run(): Promise<void> {
    this.checkpointing = true;
    try {
      const written = await this.writer.serialize(async () => {
        const records: ProducerRecord[] = [];
        for (const [groupId, offsets] of this.state.offsets) {
          for (const o of [...offsets.values()]) {
            if (committedForEarlierTopic(o, this.deps.topicIncarnation?.(o.topic))) {
              // Left behind by a deleted topic: not rewritten, so retention removes it from the log too.
              this.state.apply({
                kind: 'offset',
                groupId,
                topic: o.topic,
                partition: o.partition,
                value: null,
              });
              continue;
            }
            const { topic: _topic, partition: _partition, ...value } = o;
            records.push(offsetRecord(groupId, o.topic, o.partition, value));
          }
        }
        for (const snapshot of this.state.groups.values())
          records.push(groupRecord(snapshot.groupId, snapshot));
        for (let i = 0; i < records.length; i += CHECKPOINT_BATCH_RECORDS) {
          await this.writer.append(records.slice(i, i + CHECKPOINT_BATCH_RECORDS));
        }
        return records.length;
      });
      this.nextCheckpointMs = this.deps.nowMs() + this.deps.checkpointIntervalMs;
      this.deps.logger.debug(
        { operation: 'groups.checkpoint', records: written },
        'group state checkpointed',
      );
    } catch (err) {
      // Tried again soon; retention is four intervals away.
      this.nextCheckpointMs =
        this.deps.nowMs() + Math.min(this.deps.checkpointIntervalMs, CHECKPOINT_RETRY_MS);
      this.deps.logger.warn(
        { operation: 'groups.checkpoint', error: String(err) },
        'group checkpoint failed',
      );
    } finally {
      this.checkpointing = false;
    }
  }
}
