/**
 * The push worker thread's scheduling (PUSH_WORKER_NICE, PUSH_WORKER_IDLE): on Linux with
 * util-linux's chrt it runs under SCHED_IDLE when asked, else at the nice value, and it
 * says which it got in its first message.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { PushWorkerData, WorkerPriority } from '../../src/push/push-worker.js';

const hasChrt = (() => {
  try {
    execFileSync('chrt', ['--version'], { stdio: 'ignore' });
    return process.platform === 'linux';
  } catch {
    return false;
  }
})();

/** Linux /proc: the thread's nice value and scheduling policy (0 SCHED_OTHER, 5 SCHED_IDLE). */
function scheduling(tid: number): { nice: number; policy: number } {
  const stat = readFileSync(`/proc/${process.pid}/task/${tid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { nice: Number(f[16]), policy: Number(f[38]) };
}

async function startWorker(idle: boolean): Promise<WorkerPriority> {
  const data: PushWorkerData = { vapid: { publicKey: 'unused', privateKey: 'unused', subject: 'mailto:ops@focusroom.app' }, timeoutMs: 1_000, maxInFlight: 1, nice: 5, idle };
  const worker = new Worker(new URL('../../src/push/push-worker.ts', import.meta.url), { workerData: data });
  try {
    const first = await new Promise<WorkerPriority>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (first.tid !== null && process.platform === 'linux') Object.assign(first, { seen: scheduling(first.tid) });
    return first;
  } finally {
    await worker.terminate();
  }
}

describe('push worker thread scheduling', () => {
  it.runIf(process.platform === 'linux')('runs nicer than the process by PUSH_WORKER_NICE, under SCHED_OTHER', async () => {
    const p = (await startWorker(false)) as WorkerPriority & { seen?: { nice: number; policy: number } };
    expect(p).toMatchObject({ priority: 'nice' });
    expect(p.seen).toEqual({ nice: Math.min(19, (scheduling(process.pid).nice) + 5), policy: 0 });
  });

  it.runIf(hasChrt)('moves to SCHED_IDLE with PUSH_WORKER_IDLE (chrt)', async () => {
    const p = (await startWorker(true)) as WorkerPriority & { seen?: { nice: number; policy: number } };
    expect(p).toMatchObject({ priority: 'idle' });
    expect(p.error).toBeUndefined();
    expect(p.seen?.policy).toBe(5);
  });
});
