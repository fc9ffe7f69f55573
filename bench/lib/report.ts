/**
 * The bench's results and its summary table: every scenario stores its result under its
 * name and contributes table rows (Scenario.report); this file only formats them and
 * writes the JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** `meta` (machine, load, options) plus one entry per scenario run, by name. */
export interface Results {
  meta: Record<string, unknown>;
  /** focusroom CPU per delivered tick over the ws baseline's (when both ran). */
  cpuRatio?: number;
  [scenario: string]: unknown;
}

/** One summary line: what, the numbers, the goal and whether it was met. */
export type Row = [label: string, numbers: string, goal: string];

export const round = (v: number, d = 1) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : NaN);
export const mb = (bytes: number) => round(bytes / 2 ** 20, 1);

export function fmt(v: number | undefined, unit = ''): string {
  return v === undefined || !Number.isFinite(v) ? '—' : `${v}${unit}`;
}

export const goal = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? 'ok' : 'MISSED');

export function table(rows: Row[]): string {
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  return rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`).join('\n');
}

/** Writes the JSON to `out`, and to <root>/.bench-out/latest.json when `out` is in .bench-out. */
export function writeResults(results: Results, out: string, root: string): void {
  mkdirSync(dirname(out), { recursive: true });
  const json = JSON.stringify(results, null, 2);
  writeFileSync(out, json);
  if (out.startsWith(join(root, '.bench-out') + '/')) writeFileSync(join(root, '.bench-out/latest.json'), json);
}
