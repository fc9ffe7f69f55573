/**
 * Teardown that registers itself, as hocuspocus's `newHocuspocus` does: whatever a helper
 * starts (a server, a redis-server, a child instance) is stopped without the test file
 * writing an afterAll for it. Started inside a test (or beforeEach), it stops when that
 * test finishes; started in beforeAll or at the top of a file, it stops after the file's
 * own afterAll hooks, newest first (test/helpers/setup.ts, a vitest setup file).
 */
import { onTestFinished } from 'vitest';

const fileScoped: Array<() => Promise<void> | void> = [];

/** Runs `stop` when the current test ends, or after the file when no test is running. */
export function registerTeardown(stop: () => Promise<void> | void): void {
  try {
    onTestFinished(() => stop());
  } catch {
    // Not inside a test: beforeAll or module level.
    fileScoped.push(stop);
  }
}

/** Stops everything registered outside a test, newest first (setup.ts's afterAll). */
export async function runFileTeardowns(): Promise<void> {
  const errors: unknown[] = [];
  while (fileScoped.length > 0) {
    try {
      await fileScoped.pop()!();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length > 0) throw errors[0];
}

/** `fn` once; later calls return the first call's promise (close() may be called by both a test and its teardown). */
export function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  return () => (done ??= fn());
}
