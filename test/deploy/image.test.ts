/**
 * The image, built and run for real: built from the Dockerfile
 * with podman (nothing pulled but the base), ≤ 250 MB; a container on a named volume
 * answers /health with `database: ok` (the embedded store of record is writable by the
 * runtime user); a round through the SDK (focusroom/client = dist/client) completes and
 * its result shows in /me/stats; SIGTERM (podman stop) drains and exits 0 within the
 * grace; a container re-created on the same volume still has the stats; the image's
 * HEALTHCHECK passes as written. Published on 127.0.0.1 only.
 *
 * TEST_GROUP=deploy (npm run test:deploy). SKIP_CONTAINERS=1 skips it.
 */
import { connect } from 'focusroom/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { getJson, http } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { containerState, engine, IMAGE, MAX_IMAGE_BYTES, report, run, uniqueName, waitForHealth } from './podman.js';

const skip = process.env.SKIP_CONTAINERS === '1';
const volume = uniqueName('focusroom-test-data');
const made: string[] = [];
/** SHUTDOWN_GRACE_MS of the containers; podman stop waits this + 5 s before SIGKILL. */
const GRACE_MS = 10_000;

/** Runs the image on the volume, published on 127.0.0.1:<free port>; resolves once /health is 200. */
async function startContainer(): Promise<{ name: string; url: string; startMs: number }> {
  const name = uniqueName('focusroom-test');
  const port = await freePort();
  made.push(name);
  const t0 = Date.now();
  await engine(['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:3000`, '-v', `${volume}:/app/data`, '-e', `SHUTDOWN_GRACE_MS=${GRACE_MS}`, '-e', 'LOG_LEVEL=info', IMAGE]);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(`${url}/health`, 60_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${(await run('podman', ['logs', name])).stderr}`);
  }
  return { name, url, startMs: Date.now() - t0 };
}

/** /me/stats of the device key, once `accept` holds (results are written shortly after completion). */
async function statsOf(url: string, userKey: string, accept: (s: any) => boolean, timeoutMs = 10_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const r = await http(`${url}/me/stats`, { token: userKey });
    last = r.body;
    if (r.status === 200 && accept(r.body)) return r.body;
    await sleep(200);
  }
  throw new Error(`/me/stats never matched: ${JSON.stringify(last)}`);
}

describe.skipIf(skip)('the image (podman)', () => {
  let first: { name: string; url: string; startMs: number };
  let userKey: string;
  let imageBytes = 0;

  beforeAll(async () => {
    imageBytes = inject('image')?.bytes ?? 0;
    await engine(['volume', 'create', volume]);
  }, 900_000);

  afterAll(async () => {
    for (const name of made) await run('podman', ['rm', '-f', '-t', '0', name]);
    await run('podman', ['volume', 'rm', '-f', volume]);
  }, 60_000);

  it('is at most 250 MB', () => {
    expect(imageBytes).toBeGreaterThan(0);
    expect(imageBytes).toBeLessThanOrEqual(MAX_IMAGE_BYTES);
  });

  it('starts on a new volume as the unprivileged user: /health 200 with database ok', async () => {
    first = await startContainer();
    report('image start to /health 200', `${first.startMs} ms (podman run included)`);
    const body = await waitForHealth(`${first.url}/health`, 10_000, (b) => b.database === 'ok');
    expect(body).toMatchObject({ status: 'ok', database: 'ok' });
    expect((await engine(['exec', first.name, 'id', '-u'])).trim()).toBe('1000');
  }, 90_000);

  it('runs a round through the SDK; the result is in /me/stats', async () => {
    const client = connect(first.url, { timeoutMs: 8_000 });
    try {
      const joined = await client.create({ user_name: 'Ann', session_duration: 1_500 });
      expect(joined.user_key).toMatch(/^[A-Za-z0-9_-]{32}$/);
      userKey = joined.user_key!;
      const completed = new Promise<void>((resolve) => client.on('session_completed', () => resolve()));
      await client.start();
      await Promise.race([completed, sleep(8_000).then(() => Promise.reject(new Error('no session_completed within 8 s')))]);
    } finally {
      client.close();
    }
    const stats = await statsOf(first.url, userKey, (s) => s.rounds_completed === 1);
    expect(stats.focused_ms).toBeGreaterThan(1_000);
  }, 30_000);

  it('the HEALTHCHECK passes as written', async () => {
    const r = await run('podman', ['healthcheck', 'run', first.name]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
  }, 30_000);

  it('SIGTERM (podman stop): drained, exit 0 within the grace', async () => {
    const client = connect(first.url, { timeoutMs: 8_000 });
    await client.ready();
    const t0 = Date.now();
    await engine(['stop', '-t', String(GRACE_MS / 1000 + 5), first.name], { timeoutMs: 60_000 });
    const ms = Date.now() - t0;
    client.close();
    report('image SIGTERM to exit', `${ms} ms (grace ${GRACE_MS} ms)`);
    const state = await containerState(first.name);
    expect(state.running).toBe(false);
    expect(state.exitCode).toBe(0);
    expect(ms).toBeLessThan(GRACE_MS);
    const logs = await run('podman', ['logs', first.name]);
    expect(logs.stdout + logs.stderr).not.toMatch(/EACCES|permission denied/i);
  }, 60_000);

  it('a container re-created on the same volume keeps the stats', async () => {
    await engine(['rm', first.name]);
    const second = await startContainer();
    await waitForHealth(`${second.url}/health`, 10_000, (b) => b.database === 'ok');
    const stats = await statsOf(second.url, userKey, (s) => s.rounds_completed === 1);
    expect(stats.rounds_completed).toBe(1);
    expect((await getJson(`${second.url}/health`)).body.database).toBe('ok');
  }, 90_000);
});
