/**
 * The writer's handling of one outbox batch (docs/persistence.md "The writer"): its
 * entries kind by kind, in the order of `steps` (completed rounds first, then what
 * completes their rows: attendance, recaps), each kind written in one go; if that fails
 * while the database answers, the part is split in halves and each written alone (in
 * order), down to single entries. An entry that still fails alone, WRITE_ATTEMPTS times,
 * is set aside — a dead letter: acknowledged (so it no longer blocks the entries behind
 * it), counted in `focusroom_db_dead_letters_total` and logged once — instead of jamming
 * the queue for good. While the database does not answer, or cannot write at all (a full
 * disk), nothing is split or set aside: the batch waits for it.
 */
import type { OutboxEntry, OutboxEntryType } from '../domain/outbox-entries.js';
import type { OutboxMessage } from '../store/outbox.js';

/** Times an entry must fail alone, with the database answering, before it is set aside. */
export const WRITE_ATTEMPTS = 3;

export interface WriteStep {
  /** The outbox entry type this step writes. */
  type: OutboxEntryType;
  /** Writes the entries (all of `type`); returns rows written. */
  apply(entries: OutboxEntry[]): Promise<number>;
  /** Its rows count toward `inserted` (result rows). */
  counts?: boolean;
}

export interface WriterDeps {
  steps: WriteStep[];
  /** Resolves when the database answers, throws when it does not. */
  ping(): Promise<void>;
  /** Whether `err` is the whole store failing (a full disk, a read-only DATA_DIR), not this entry. */
  isStoreFault(err: unknown): boolean;
  /** An entry set aside, with the error of its last attempt. */
  deadLetter(message: OutboxMessage, err: unknown): void;
}

export interface BatchOutcome {
  /** Ids finished: written, already there, not for this writer, or set aside. */
  done: string[];
  /** Result rows inserted. */
  inserted: number;
}

export class ResultsWriter {
  /** Failed lone attempts per outbox id (this process; a restart starts them over). */
  private readonly failures = new Map<string, number>();

  constructor(private readonly deps: WriterDeps) {}

  /** Writes what it can of `batch`; throws (retry all later) only when the store as a whole fails. */
  async write(batch: OutboxMessage[]): Promise<BatchOutcome> {
    const outcome: BatchOutcome = { done: [], inserted: 0 };
    const known = new Set(this.deps.steps.map((s) => s.type));
    for (const m of batch) if (!known.has(m.entry.type)) outcome.done.push(m.id);
    for (const step of this.deps.steps) {
      const part = batch.filter((m) => m.entry.type === step.type);
      const before = outcome.done.length;
      await this.writePart(part, step, outcome);
      // An entry left for another attempt keeps the later kinds waiting: they may need its rows.
      if (outcome.done.length - before < part.length) break;
    }
    return outcome;
  }

  private async writePart(part: OutboxMessage[], step: WriteStep, outcome: BatchOutcome): Promise<void> {
    if (part.length === 0) return;
    try {
      const n = await step.apply(part.map((m) => m.entry));
      if (step.counts) outcome.inserted += n;
      for (const m of part) {
        outcome.done.push(m.id);
        this.failures.delete(m.id);
      }
      return;
    } catch (err) {
      // The database is away or cannot write at all (a full disk still answers a ping):
      // nothing here is at fault; the caller backs off and retries the whole batch.
      if (this.deps.isStoreFault(err)) throw err;
      await this.deps.ping();
      if (part.length === 1) {
        const m = part[0]!;
        const n = (this.failures.get(m.id) ?? 0) + 1;
        if (n < WRITE_ATTEMPTS) {
          // Bounded: ids another instance took over are never seen again here.
          if (this.failures.size >= 10_000) this.failures.clear();
          this.failures.set(m.id, n);
          return;
        }
        this.failures.delete(m.id);
        this.deps.deadLetter(m, err);
        outcome.done.push(m.id);
        return;
      }
    }
    const half = Math.ceil(part.length / 2);
    await this.writePart(part.slice(0, half), step, outcome);
    await this.writePart(part.slice(half), step, outcome);
  }
}
