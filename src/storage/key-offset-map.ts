/**
 * The log cleaner's map of key -> offset of that key's latest record in the range it scanned (Kafka's
 * SkimpyOffsetMap, without the hashing: keys are kept whole, so two keys never collide). Bounded by a count
 * of keys (storage.cleaner_keys_max): once full it takes no new key, and the cleaner stops scanning there.
 */
export class KeyOffsetMap {
  private readonly latest = new Map<string, number>();

  constructor(readonly keysMax: number) {}

  get size(): number {
    return this.latest.size;
  }

  /** Records `key` at `offset` (offsets come in increasing order); false, changing nothing, when full. */
  put(key: Buffer, offset: number): boolean {
    const k = key.toString('latin1');
    if (this.latest.size >= this.keysMax && !this.latest.has(k)) return false;
    this.latest.set(k, offset);
    return true;
  }

  /** The offset of `key`'s latest record in the scanned range; undefined when it was not seen there. */
  latestOffset(key: Buffer): number | undefined {
    return this.latest.get(key.toString('latin1'));
  }
}
