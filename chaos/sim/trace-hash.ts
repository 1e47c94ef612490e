/**
 * A 64-bit FNV-1a style hash over the integers of a run's event log, kept as two 32-bit lanes so it is
 * cheap enough to update on every message. Equal seeds must give equal hashes: that is the replay check.
 */
export class TraceHash {
  private a = 0x811c9dc5;
  private b = 0xcbf29ce4;
  events = 0;

  add(...nums: number[]): void {
    this.events++;
    let a = this.a;
    let b = this.b;
    for (const n of nums) {
      const lo = n | 0;
      const hi = Math.floor(n / 4294967296) | 0;
      a = Math.imul(a ^ lo, 0x01000193);
      b = Math.imul(b ^ hi ^ (a >>> 7), 0x0100019d);
    }
    this.a = a;
    this.b = b;
  }

  hex(): string {
    return (this.a >>> 0).toString(16).padStart(8, '0') + (this.b >>> 0).toString(16).padStart(8, '0');
  }
}
