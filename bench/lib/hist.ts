/**
 * A fixed-resolution latency histogram that crosses process boundaries as plain JSON:
 * 0.1 ms buckets up to 5 s, an overflow count, and the exact min/max/sum. Client workers
 * fill one each, the harness merges them and reads percentiles.
 */
export const RESOLUTION_MS = 0.1;
export const BUCKETS = 50_000; // 5 s at 0.1 ms

export interface HistJSON {
  /** Sparse [bucket, count] pairs, so a mostly-empty histogram is small over IPC. */
  buckets: Array<[number, number]>;
  count: number;
  overflow: number;
  negative: number;
  min: number;
  max: number;
  sum: number;
}

export class Hist {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  overflow = 0;
  /** Samples below zero (clock granularity); counted in bucket 0. */
  negative = 0;
  min = Infinity;
  max = -Infinity;
  sum = 0;

  add(ms: number): void {
    this.count += 1;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
    if (ms < 0) {
      this.negative += 1;
      this.counts[0]! += 1;
      return;
    }
    const b = Math.floor(ms / RESOLUTION_MS);
    if (b >= BUCKETS) this.overflow += 1;
    else this.counts[b]! += 1;
  }

  merge(other: HistJSON): void {
    for (const [b, n] of other.buckets) this.counts[b]! += n;
    this.count += other.count;
    this.overflow += other.overflow;
    this.negative += other.negative;
    this.sum += other.sum;
    if (other.count > 0) {
      this.min = Math.min(this.min, other.min);
      this.max = Math.max(this.max, other.max);
    }
  }

  /** The upper edge of the bucket holding the p-quantile sample (max for p = 1). */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    if (p >= 1) return this.max;
    const rank = Math.max(1, Math.ceil(p * this.count));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b]!;
      if (seen >= rank) return Math.min(this.max, (b + 1) * RESOLUTION_MS);
    }
    return this.max;
  }

  get mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  toJSON(): HistJSON {
    const buckets: Array<[number, number]> = [];
    for (let b = 0; b < BUCKETS; b++) if (this.counts[b]! > 0) buckets.push([b, this.counts[b]!]);
    return { buckets, count: this.count, overflow: this.overflow, negative: this.negative, min: this.min, max: this.max, sum: this.sum };
  }

  static from(parts: HistJSON[]): Hist {
    const h = new Hist();
    for (const p of parts) h.merge(p);
    return h;
  }
}

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export function summarize(h: Hist): Percentiles {
  const r = (v: number) => (Number.isFinite(v) ? Math.round(v * 100) / 100 : NaN);
  return { count: h.count, p50: r(h.percentile(0.5)), p90: r(h.percentile(0.9)), p99: r(h.percentile(0.99)), p999: r(h.percentile(0.999)), max: r(h.max), mean: r(h.mean) };
}
