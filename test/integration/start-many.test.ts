/**
 * Several `npm start` at once: `npm start` once rebuilt dist/ on every start (`prestart: npm run build`),
 * so three `npm start` from one checkout at once raced on dist/ and one died with
 * `does not provide an export named ...`. Now the build happens once (at install,
 * `prepare`, or `npm run build`) and `prestart` only checks that dist/ is there and not
 * older than src/. Three real `npm start` at once, each on its own free port (PORT=0):
 * all three answer /health 200 and leave dist/ untouched. Each has its own DATA_DIR: one
 * data dir takes one process (the lock refuses a second).
 *
 * Needs a current build (npm ci / npm install makes one; so does `npm run build`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDataDir } from '../helpers/test-env.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STARTS = 3;
/** npm + node start-up on a loaded 2-core box, three at once: typically 1–3 s. */
const UP_WITHIN_MS = 20_000;

const children: ChildProcess[] = [];
afterAll(async () => {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          // Its own process group (detached): npm and the node it started, by this pid only.
          try {
            process.kill(-c.pid!, 'SIGTERM');
          } catch {
            resolve();
          }
          setTimeout(() => {
            try {
              process.kill(-c.pid!, 'SIGKILL');
            } catch {
              // gone
            }
          }, 5_000).unref();
        }),
    ),
  );
});

/** `npm start` on PORT=0; resolves with the URL it logged, rejects if it exits first. */
function npmStart(i: number): Promise<{ url: string; output: () => string }> {
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', INSTANCE_ID: `start-many-${i}`, DATA_DIR: freshDataDir() },
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c) => (out += c.toString()));
  child.stderr!.on('data', (c) => (out += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start #${i} not listening after ${UP_WITHIN_MS} ms:\n${out}`)), UP_WITHIN_MS);
    child.stdout!.on('data', () => {
      const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ url, output: () => out });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`npm start #${i} exited (${code ?? signal}) before listening:\n${out}`));
    });
  });
}

describe('several npm start from one checkout at once', () => {
  it(`${STARTS} at once all come up healthy on distinct ports, and none rebuilds dist/`, async () => {
    const builtAt = statSync(`${ROOT}dist/server.js`).mtimeMs;
    const started = Date.now();
    const servers = await Promise.all(Array.from({ length: STARTS }, (_, i) => npmStart(i)));
    const upMs = Date.now() - started;
    expect(new Set(servers.map((s) => s.url)).size).toBe(STARTS);
    const health = await Promise.all(servers.map(async (s) => (await fetch(`${s.url}/health`)).status));
    expect(health).toEqual(Array(STARTS).fill(200));
    expect(upMs).toBeLessThan(UP_WITHIN_MS);
    expect(statSync(`${ROOT}dist/server.js`).mtimeMs).toBe(builtAt);
    console.info(`${STARTS} npm start at once: all healthy after ${upMs} ms`);
  }, 40_000);
});
