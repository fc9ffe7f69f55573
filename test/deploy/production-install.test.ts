/**
 * A production install starts in every mode: package.json and
 * the lock file installed with `npm ci --omit=dev` in a directory of their own, plus the
 * built dist/ and public/ (what the image holds), then `node dist/server.js` with the
 * flags of `npm start` against each store: embedded (DATA_DIR), PostgreSQL, Redis
 * standalone, Sentinel and Cluster. Each answers /health 200 and creates a room through
 * socket.io-client. A runtime import of a devDependency fails here at start (and earlier
 * in `npm run lint:layers`, rule runtime-imports-are-dependencies).
 *
 * TEST_GROUP=deploy (npm run test:deploy): it installs from the registry (or npm's cache).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverNodeFlags } from '../../scripts/node-flags.mjs';
import { call, connect } from '../helpers/client.js';
import { exitOf, trackChild } from '../helpers/children.js';
import { newRedis, newRedisCluster, newSentinelSet } from '../helpers/cluster.js';
import { getJson } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { startPostgres } from '../helpers/postgres.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { registerTeardown } from '../helpers/teardown.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; devDependencies: Record<string, string> };
const FLAGS = serverNodeFlags(pkg.scripts.start ?? '') ?? [];

let dir: string;

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist/server.js'))) throw new Error('dist/ is not built: npm run build');
  dir = mkdtempSync(join(tmpdir(), 'focusroom-prod-'));
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  cpSync(join(ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
  // As the image's deps stage: production dependencies only, no prepare build.
  execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: dir, stdio: 'pipe', timeout: 240_000 });
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'public'), join(dir, 'public'), { recursive: true });
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

interface Started {
  child: ChildProcess;
  url: string;
  output(): string;
}

/** `node <npm start's flags> dist/server.js` in the pruned install, stopped (SIGTERM) by the teardown. */
async function startPruned(env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  const child = trackChild(
    spawn(process.execPath, [...FLAGS, 'dist/server.js'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  child.stdout!.on('data', (c) => (out += c.toString()));
  child.stderr!.on('data', (c) => (out += c.toString()));
  registerTeardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exitOf(child), sleep(15_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the pruned install exited at start (${child.exitCode ?? child.signalCode}):\n${out}`);
    const health = await getJson(`${url}/health`, 1_000).catch(() => null);
    if (health?.status === 200) return { child, url, output: () => out };
    await sleep(100);
  }
  throw new Error(`the pruned install did not answer /health 200 within 30 s:\n${out}`);
}

/** /health, then a room created over Socket.IO (WebSocket, as the SDK connects). */
async function checkServes(s: Started, database: 'ok' | 'disabled'): Promise<void> {
  const health = await getJson(`${s.url}/health`);
  expect(health.status, s.output()).toBe(200);
  expect(health.body.status).toBe('ok');
  if (database === 'ok') {
    // The store of record opens in the background: wait for it rather than race it.
    const deadline = Date.now() + 10_000;
    let db = health.body.database;
    while (db !== 'ok' && Date.now() < deadline) {
      await sleep(100);
      db = (await getJson(`${s.url}/health`)).body.database;
    }
    expect(db, s.output()).toBe('ok');
  }
  const socket = await connect(s.url, { transports: ['websocket'] });
  try {
    // A server just started on a loaded machine may shed load (`unavailable`, "try again
    // shortly"): retry as a client would.
    let created = await call(socket, 'create_session', { user_name: 'Prod' });
    for (let i = 0; i < 10 && !created.ok && created.error?.code === 'unavailable'; i++) {
      await sleep(500);
      created = await call(socket, 'create_session', { user_name: 'Prod' });
    }
    expect(created.ok, JSON.stringify(created)).toBe(true);
    expect(created.room_code).toMatch(/^[A-Z0-9]{6}$/);
  } finally {
    socket.close();
  }
}

describe('a production install (npm ci --omit=dev) starts', () => {
  it('is pruned: no devDependency installed (typescript, vitest, tsx)', () => {
    for (const name of ['typescript', 'vitest', 'tsx']) {
      expect(name in pkg.devDependencies, name).toBe(true);
      expect(existsSync(join(dir, 'node_modules', name)), name).toBe(false);
    }
  });

  it('embedded store of record (DATA_DIR)', async () => {
    const s = await startPruned({ DATA_DIR: join(dir, 'data') });
    await checkServes(s, 'ok');
  }, 60_000);

  it('PostgreSQL (DATABASE_URL)', async () => {
    const pg = await startPostgres();
    registerTeardown(() => pg.destroy());
    const s = await startPruned({ DATABASE_URL: pg.url, DATA_DIR: 'off' });
    await checkServes(s, 'ok');
  }, 90_000);

  it('Redis standalone (REDIS_URL)', async () => {
    const redis = await newRedis();
    const s = await startPruned({ REDIS_URL: redis.url, DATA_DIR: 'off' });
    await checkServes(s, 'disabled');
  }, 60_000);

  it('Redis Sentinel (REDIS_SENTINELS)', async () => {
    const set = await newSentinelSet();
    const s = await startPruned({ REDIS_SENTINELS: set.sentinelsEnv, REDIS_SENTINEL_NAME: set.name, DATA_DIR: 'off' });
    await checkServes(s, 'disabled');
  }, 90_000);

  it('Redis Cluster (REDIS_CLUSTER=true)', async () => {
    const cluster = await newRedisCluster();
    const s = await startPruned({ REDIS_CLUSTER: 'true', REDIS_URL: cluster.seeds, DATA_DIR: 'off' });
    await checkServes(s, 'disabled');
  }, 120_000);
});
