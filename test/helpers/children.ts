/**
 * Every child process the tests and the bench start (servers, redis-server, client
 * workers) is tracked here and SIGKILLed by PID when this process exits, however it exits,
 * so none outlives its parent. Nothing else is ever signalled. Plain Node: no vitest.
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let installed = false;

/** SIGKILLs every tracked child still running. */
export function killTrackedChildren(): void {
  for (const c of live) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  live.clear();
}

function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killTrackedChildren);
  // 'exit' does not run on a fatal signal: kill the children, then let the signal act
  // as it would have unless someone else handles it.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killTrackedChildren();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

/** Tracks `child` until it exits; returns it. */
export function trackChild<C extends ChildProcess>(child: C): C {
  installCleanup();
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Resolves once `child` has exited (at once if it already has). */
export const exitOf = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
