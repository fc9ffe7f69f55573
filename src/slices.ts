/**
 * Main-thread work in slices: a long job (a start's restore or decode, a journal flush, a
 * large batch posted in parts, the start's setup) lets the event loop run its timers and
 * I/O between steps, so ticks and socket I/O never wait behind it for long
 * (docs/performance.md, the start's loop delay).
 */
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers/promises';

/** A turn of the event loop: resolves once the timers and I/O due now have run. */
export const nextTurn = (): Promise<void> => setImmediate();

/** Gives the loop a turn once `sliceMs` of work has gone by since the last one. */
export class Slicer {
  private start = performance.now();
  constructor(private readonly sliceMs: number) {}

  /** A turn if this slice has run its time; else nothing. */
  async maybeYield(): Promise<void> {
    if (performance.now() - this.start >= this.sliceMs) await this.yield();
  }

  /** A turn now, and a new slice after it. */
  async yield(): Promise<void> {
    await nextTurn();
    this.start = performance.now();
  }
}
