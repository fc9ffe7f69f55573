/**
 * What a bench scenario is. Adding one = a new file in bench/scenarios exporting a
 * `Scenario`, plus one line in bench/scenarios/index.ts; `--only <name>` then runs it and
 * its result lands in the JSON under its name.
 */
import type { Ctx } from '../lib/context.js';
import type { Results, Row } from '../lib/report.js';

export type Log = (line: string) => void;

export interface Scenario {
  /** One line for the file's docs and `--help`. */
  summary: string;
  /** Runs only when named in `--only` (not in the default "every scenario" run). */
  optIn?: boolean;
  /** Runs the scenario (starting and stopping its own processes); the result is stored as results[name]. `results` holds the scenarios run before it. */
  run(ctx: Ctx, results: Results, log: Log): Promise<unknown>;
  /** Its rows of the summary table (none when it did not run); sees every result. */
  report?(results: Results): Row[];
  /** After every scenario ran: derived numbers that need other scenarios' results. */
  finish?(results: Results): void;
}
