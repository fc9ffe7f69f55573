/**
 * Keeps `npm run bench` from rotting: a tiny run of the real harness (a few hundred
 * clients, windows of a couple of seconds, every default scenario, and the opt-in scale
 * scenario on its own) must finish and produce every number. A benchmark is not a test — nothing here asserts a timing or a goal.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'focusroom-bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runBench(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/run.ts'), ...args], { cwd: ROOT, timeout: 150_000, maxBuffer: 10 * 2 ** 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: stdout + stderr }),
    );
    child.stdin?.end();
  });
}

const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

describe('npm run bench (smoke)', () => {
  it('runs every scenario at a small scale and reports every number', { timeout: 180_000 }, async () => {
    const out = join(dir, 'bench.json');
    const { code, output } = await runBench([
      '--quick', '--clients', '200', '--workers', '2', '--runtime', 'src', '--no-pin',
      '--warmup', '1', '--window', '2', '--idle', '1', '--join-rates', '10,20', '--join-step', '1',
      '--timeout', '140', '--out', out,
    ]);
    expect(code, output).toBe(0);
    expect(output).toContain('1. CPU per delivered tick');
    const r = JSON.parse(readFileSync(out, 'utf8'));

    for (const run of [r.ws, r.ticks, r.cluster]) {
      expect(run.clients).toBe(200);
      expect(run.delivered).toBeGreaterThan(0);
      expect(run.lateness.count).toBe(run.delivered);
      for (const k of ['p50', 'p99', 'max']) expect(finite(run.lateness[k]), `${run.kind} lateness ${k}`).toBe(true);
      expect(run.cpuUsPerMsg).toBeGreaterThan(0);
      expect(run.repeated).toBe(0);
    }
    expect(r.cpuRatio).toBeGreaterThan(0);
    expect(finite(r.ticks.emit.p99LeMs) || r.ticks.emit.p99LeMs === null).toBe(true);

    expect(r.memory.participants).toBe(200);
    expect(r.memory.gced).toBe(true);
    expect(finite(r.memory.seated.heapPerConnKb)).toBe(true);
    expect(finite(r.memory.seated.rssPerConnKb)).toBe(true);

    expect(r.cluster.cpuRatio).toBeGreaterThan(0);
    expect(r.cluster.perInstanceCpuMs).toHaveLength(2);
    expect(finite(r.cluster.redis.tickCpuMsPerS)).toBe(true);
    expect(finite(r.cluster.redis.tickWindowBroadcasts)).toBe(true);

    expect(r.join.steps.length).toBeGreaterThan(0);
    for (const s of r.join.steps) {
      expect(s.completed).toBeGreaterThan(0);
      expect(finite(s.ackP99Ms)).toBe(true);
    }
    expect(finite(r.join.maxRoomsPerS)).toBe(true);

    // Quiet clients: the same participants ticking, then quiet (no tick reaches them).
    expect(r.quiet.clients).toBe(200);
    expect(r.quiet.ticking.delivered).toBeGreaterThan(0);
    expect(r.quiet.quiet.delivered).toBe(0);
    for (const k of ['idle', 'ticking', 'quiet']) expect(finite(r.quiet[k].cpuUsPerParticipantS), k).toBe(true);
    expect(finite(r.quiet.quietPct)).toBe(true);
    expect(r.quiet.bundle.gzipBytes).toBeGreaterThan(1_000);
  });

  it('--compare runs focusroom, bare ws and the Colyseus peer side by side and prints the ratios', { timeout: 150_000 }, async () => {
    const out = join(dir, 'compare.json');
    const { code, output } = await runBench(['--compare', '--quick', '--clients', '40', '--workers', '1', '--runtime', 'src', '--no-pin', '--warmup', '1', '--window', '2', '--timeout', '140', '--out', out]);
    expect(code, output).toBe(0);
    const r = JSON.parse(readFileSync(out, 'utf8'));
    expect(r.meta.options.only).toEqual(['ws', 'ticks', 'colyseus']);
    expect(output).toContain('C. Side by side (one run)');
    expect(output).toContain('focusroom ÷ bare ws');
    // The peer is installed on demand from the npm registry; without it the run says why and goes on.
    if ('notRun' in r.colyseus) {
      expect(r.colyseus.notRun).toMatch(/npm/);
      expect(output).toContain('not run:');
    } else {
      expect(r.colyseus.kind).toBe('colyseus');
      expect(r.colyseus.delivered).toBeGreaterThan(0);
      expect(r.colyseus.repeated).toBe(0);
      expect(r.colyseus.cpuUsPerMsg).toBeGreaterThan(0);
      expect(output).toContain('focusroom ÷ tuned Colyseus');
    }
  });

  it('runs the opt-in scale scenario (a 3-master Redis Cluster, then one Redis) at a tiny scale', { timeout: 90_000 }, async () => {
    const out = join(dir, 'scale.json');
    const { code, output } = await runBench([
      '--only', 'scale', '--quick', '--scale-clients', '48', '--scale-instances', '2', '--workers', '2', '--runtime', 'src', '--no-pin',
      '--warmup', '1', '--idle', '1', '--scale-window', '2', '--timeout', '80', '--out', out,
    ]);
    expect(code, output).toBe(0);
    const s = JSON.parse(readFileSync(out, 'utf8')).scale;
    expect(s.runs.map((x: { topology: string; instances: number }) => `${x.topology}×${x.instances}`)).toEqual(['cluster×2', 'standalone×2']);
    for (const run of s.runs) {
      expect(run.perInstance).toHaveLength(run.instances);
      expect(run.broadcastsPerS, `${run.topology}×${run.instances}`).toBeGreaterThan(0);
      expect(run.receivedPerS).toBeGreaterThan(0);
      for (const k of ['cpuMsPerS', 'idleCpuMsPerS', 'ticksCpuMsPerS', 'receivedSharePer1k', 'loadCpuMsPerSPer1k']) expect(finite(run[k]), k).toBe(true);
      expect(finite(run.redis.cpuMsPerS)).toBe(true);
    }
    expect(s.runs[0].redis.spublishPerS).toBeGreaterThan(0);
    for (const t of ['cluster', 'standalone']) expect(s.summary[t][0].runs, t).toBe(1);
  });
});
