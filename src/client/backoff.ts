/**
 * Exponential backoff with jitter: `base × 2^attempt`, capped at `max`, times a random
 * factor in [0.5, 1.5) so clients refused together do not come back together.
 * One instance is shared by the connection retries and the resume retries of a client:
 * either succeeding starts the next run of failures from `base` again (`reset`).
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 500,
    private readonly maxMs = 10_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next try (ms); each call counts one more attempt. */
  next(): number {
    const delay = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempt++, 16));
    return delay * (0.5 + this.random());
  }

  reset(): void {
    this.attempt = 0;
  }
}
