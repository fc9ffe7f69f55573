/** join: create/join throughput, stepping the rate until p99 ack latency > 100 ms. */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Ctx, profileFile, stopAll, type Worker } from '../lib/context.js';
import { Hist, type HistJSON } from '../lib/hist.js';
import { connectAll, cpuUs, type ServerStats } from '../lib/measure.js';
import { formatProfile, type ProfileSummary, summarizeProfile } from '../lib/profile.js';
import { type Results, round, type Row } from '../lib/report.js';
import type { Log, Scenario } from './scenario.js';

export interface JoinStep {
  targetRoomsPerS: number;
  roomsPerS: number;
  opsPerS: number;
  completed: number;
  errors: number;
  starved: number;
  createP99Ms: number;
  joinP99Ms: number;
  ackP50Ms: number;
  ackP99Ms: number;
  leaveP99Ms: number;
  serverCpuPct: number;
}

export interface JoinResult {
  pool: number;
  stepS: number;
  steps: JoinStep[];
  /** The highest step whose p99 ack latency stayed ≤ 100 ms with no errors. */
  maxRoomsPerS: number;
  maxOpsPerS: number;
  stoppedBecause: string;
  profile?: ProfileSummary;
}

async function run(ctx: Ctx, _results: Results, log: Log): Promise<JoinResult> {
  const { opts } = ctx;
  const server = await ctx.focusroom('join', opts.joinPool);
  let workers: Worker[] = [];
  const steps: JoinStep[] = [];
  let stoppedBecause = 'every step stayed under 100 ms';
  try {
    workers = await ctx.workers(opts.joinPool);
    await connectAll(workers, 'sio', [server.url]);
    for (const rate of opts.joinRates) {
      const a = await server.request<ServerStats>({ type: 'stats' });
      const parts = await Promise.all(
        workers.map(({ w }) =>
          w.request<{ completed: number; errors: number; starved: number; firstError: string | null; wallMs: number; create: HistJSON; join: HistJSON; leave: HistJSON }>(
            { type: 'churn', rate: rate / workers.length, durationMs: opts.joinStepS * 1000 },
            opts.joinStepS * 1000 + 60_000,
          ),
        ),
      );
      const b = await server.request<ServerStats>({ type: 'stats' });
      const create = Hist.from(parts.map((p) => p.create));
      const joinH = Hist.from(parts.map((p) => p.join));
      const acks = Hist.from([...parts.map((p) => p.create), ...parts.map((p) => p.join)]);
      const leave = Hist.from(parts.map((p) => p.leave));
      const completed = parts.reduce((s, p) => s + p.completed, 0);
      const wallS = Math.max(...parts.map((p) => p.wallMs)) / 1000;
      const step: JoinStep = {
        targetRoomsPerS: rate,
        roomsPerS: round(completed / wallS, 1),
        opsPerS: round((completed * 4) / wallS, 1),
        completed,
        errors: parts.reduce((s, p) => s + p.errors, 0),
        starved: parts.reduce((s, p) => s + p.starved, 0),
        createP99Ms: round(create.percentile(0.99), 2),
        joinP99Ms: round(joinH.percentile(0.99), 2),
        ackP50Ms: round(acks.percentile(0.5), 2),
        ackP99Ms: round(acks.percentile(0.99), 2),
        leaveP99Ms: round(leave.percentile(0.99), 2),
        serverCpuPct: round((100 * (cpuUs(b) - cpuUs(a))) / (b.hrtime - a.hrtime), 1),
      };
      steps.push(step);
      log(`  ${rate} rooms/s → ${step.roomsPerS} rooms/s, ack p50 ${step.ackP50Ms} ms p99 ${step.ackP99Ms} ms, server CPU ${step.serverCpuPct}%${step.errors ? `, ${step.errors} errors (${parts.find((p) => p.firstError)?.firstError})` : ''}${step.starved ? `, ${step.starved} starved` : ''}`);
      if (step.errors > 0) {
        stoppedBecause = `errors at ${rate} rooms/s`;
        break;
      }
      if (!(step.ackP99Ms <= 100)) {
        stoppedBecause = `p99 ack latency ${step.ackP99Ms} ms > 100 ms at ${rate} rooms/s`;
        break;
      }
      if (step.starved > 0 || step.roomsPerS < rate * 0.9) {
        stoppedBecause = `could not sustain ${rate} rooms/s (${step.roomsPerS} achieved)`;
        break;
      }
      await sleep(500);
    }
    const ok = steps.filter((s) => s.errors === 0 && s.ackP99Ms <= 100 && s.starved === 0);
    const best = ok.reduce<JoinStep | null>((m, s) => (!m || s.roomsPerS > m.roomsPerS ? s : m), null);
    let profile: ProfileSummary | undefined;
    if (opts.profile && best) {
      // One more step at the best rate, profiled (so the profiler does not skew the sweep).
      const file = profileFile(opts, `join-${best.targetRoomsPerS}`);
      await sleep(500);
      await server.request({ type: 'profile-start', intervalUs: 500 });
      await Promise.all(workers.map(({ w }) => w.request({ type: 'churn', rate: best.targetRoomsPerS / workers.length, durationMs: opts.profileS * 1000 }, opts.profileS * 1000 + 60_000)));
      await server.request({ type: 'profile-stop', file });
      profile = summarizeProfile(file);
      log(formatProfile(profile));
    }
    return { pool: opts.joinPool, stepS: opts.joinStepS, steps, maxRoomsPerS: best?.roomsPerS ?? 0, maxOpsPerS: best?.opsPerS ?? 0, stoppedBecause, ...(profile ? { profile } : {}) };
  } finally {
    await stopAll(workers.map((w) => w.w));
    await server.stop();
  }
}

function report(r: Results): Row[] {
  const j = r.join as JoinResult | undefined;
  if (!j) return [];
  return [['5. Create+join throughput', `${j.maxRoomsPerS} rooms/s (${j.maxOpsPerS} creates+joins/s) with p99 ack ≤ 100 ms; stopped: ${j.stoppedBecause}`, '']];
}

export const join: Scenario = { summary: 'create/join throughput, stepping the rate until p99 ack latency > 100 ms', run, report };
