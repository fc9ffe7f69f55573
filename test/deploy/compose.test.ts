/**
 * The compose deploy, run for real with podman-compose: the
 * repository's docker-compose.yml and deploy/haproxy.cfg, copied with a .env and a
 * self-signed certificate (scripts/self-signed-cert.sh) into a project directory of
 * their own, published on 127.0.0.1 only (LB_ADDRESS, free ports):
 *
 * - HTTP redirects to HTTPS; /metrics is not public; every service's healthcheck passes
 *   as written (`podman healthcheck run`: podman-compose schedules none without systemd);
 * - a room with clients on both replicas through haproxy over wss:// (the SDK trusting
 *   the self-signed certificate), its result in PostgreSQL;
 * - a rolling restart mid-countdown: app1 stopped (SIGTERM), its clients resume on app2,
 *   app1 started again, then the same for app2; every client completes once, the result
 *   is in PostgreSQL;
 * - `down` + `up` keeps PostgreSQL's results and Redis's rooms (named volumes);
 * - a pg_dump of the results restores into a fresh database.
 *
 * TEST_GROUP=deploy (npm run test:deploy). SKIP_CONTAINERS=1 skips it.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { connect, type FocusroomClient } from 'focusroom/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { COMPOSE, ENGINE, must, report, ROOT, run, uniqueName } from './podman.js';

const skip = process.env.SKIP_CONTAINERS === '1';

let dir = '';
let project = '';
let ca = '';
let httpsPort = 0;
let httpPort = 0;
const password = randomBytes(16).toString('hex');
const metricsToken = randomBytes(16).toString('hex');
const clients: FocusroomClient[] = [];
/** The rolling restart's round: long enough for both stops to land inside it on a loaded 2-core machine (~40 s). */
const ROUND_MS = 50_000;

/** podman-compose names containers <project>_<service>_1, docker compose <project>-<service>-1. */
const container = (service: string) => (ENGINE === 'docker' ? `${project}-${service}-1` : `${project}_${service}_1`);
const compose = (args: string[], timeoutMs = 300_000) => must(COMPOSE[0]!, [...COMPOSE.slice(1), '-p', project, '-f', 'docker-compose.yml', ...args], { cwd: dir, timeoutMs });
const base = () => `https://127.0.0.1:${httpsPort}`;

/** GET over HTTPS trusting only the self-signed certificate. */
function httpsGet(path: string, timeoutMs = 3_000): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = get(`${base()}${path}`, { ca, servername: 'localhost', timeout: timeoutMs, headers: { connection: 'close' } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        let body: any = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** A service's own /health, from inside its container (the replicas are not published). */
async function replicaHealth(service: string): Promise<any> {
  const out = await must(ENGINE, ['exec', container(service), 'node', '-e', "fetch('http://127.0.0.1:3000/health').then(r=>r.json()).then(j=>console.log(JSON.stringify(j)))"], { timeoutMs: 20_000 });
  return JSON.parse(out.trim());
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last: ${(last as Error).message})` : ''}`);
}

/** Both replicas answer 200 through haproxy's health checks: each replica healthy inside, then the LB answers. */
async function waitUntilServing(timeoutMs = 120_000): Promise<void> {
  for (const s of ['app1', 'app2']) {
    await eventually(`${s} /health 200`, async () => (await replicaHealth(s)).status === 'ok', timeoutMs);
  }
  await eventually('haproxy /health 200 over TLS', async () => (await httpsGet('/health')).status === 200, timeoutMs);
}

function sdk(): FocusroomClient {
  const c = connect(base(), { timeoutMs: 15_000, socketOptions: { transports: ['websocket'], ca, servername: 'localhost' } as never });
  clients.push(c);
  return c;
}

/** A SQL answer from the compose PostgreSQL (psql in its container). */
const sql = async (query: string) => (await must(ENGINE, ['exec', container('postgres'), 'psql', '-U', 'focusroom', '-d', 'focusroom', '-tAc', query])).trim();

/** The anonymous volumes of a container (the image's VOLUME /app/data on the replicas), which `down` leaves behind. */
async function anonymousVolumes(service: string): Promise<string[]> {
  const r = await run(ENGINE, ['inspect', container(service), '--format', '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}']);
  return r.code === 0 ? r.stdout.trim().split(/\s+/).filter((v) => /^[0-9a-f]{64}$/.test(v)) : [];
}
const leftVolumes: string[] = [];

/** Open sockets per replica (their /health). */
async function connections(): Promise<{ app1: number; app2: number }> {
  return { app1: (await replicaHealth('app1')).connections, app2: (await replicaHealth('app2')).connections };
}

describe.skipIf(skip)('the compose deploy (podman-compose)', () => {
  beforeAll(async () => {
    if (!inject('image')) throw new Error('the image was not built (test/deploy/global-setup.ts)');
    dir = mkdtempSync(join(tmpdir(), 'focusroomci-'));
    project = basename(dir).toLowerCase().replace(/[^a-z0-9]/g, '');
    cpSync(join(ROOT, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
    mkdirSync(join(dir, 'deploy', 'tls'), { recursive: true });
    cpSync(join(ROOT, 'deploy', 'haproxy.cfg'), join(dir, 'deploy', 'haproxy.cfg'));
    await must('bash', [join(ROOT, 'scripts', 'self-signed-cert.sh'), 'localhost', join(dir, 'deploy', 'tls', 'focusroom.pem')]);
    ca = readFileSync(join(dir, 'deploy', 'tls', 'focusroom.pem'), 'utf8').split('-----BEGIN PRIVATE KEY-----')[0]!;
    httpsPort = await freePort();
    httpPort = await freePort();
    // .env.example with the blanks filled in, local only.
    const env = readFileSync(join(ROOT, '.env.example'), 'utf8')
      .replace(/^POSTGRES_PASSWORD=.*$/m, `POSTGRES_PASSWORD=${password}`)
      .replace(/^METRICS_TOKEN=.*$/m, `METRICS_TOKEN=${metricsToken}`)
      .replace(/^LB_ADDRESS=.*$/m, 'LB_ADDRESS=127.0.0.1')
      .replace(/^HTTPS_PORT=.*$/m, `HTTPS_PORT=${httpsPort}`)
      .replace(/^HTTP_PORT=.*$/m, `HTTP_PORT=${httpPort}`);
    writeFileSync(join(dir, '.env'), env, { mode: 0o600 });
    const t0 = Date.now();
    await compose(['up', '-d']);
    await waitUntilServing();
    report('compose up to HTTPS /health 200 (image built)', `${Date.now() - t0} ms`);
  }, 900_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    if (!dir) return;
    const logs = await run(COMPOSE[0]!, [...COMPOSE.slice(1), '-p', project, '-f', 'docker-compose.yml', 'logs', '--tail', '30'], { cwd: dir, timeoutMs: 60_000 });
    if (process.env.DEPLOY_LOGS === '1') console.log(logs.stdout.slice(-20_000));
    // The replicas' anonymous /app/data volumes (the image's VOLUME) go with their containers.
    for (const s of ['app1', 'app2']) await run(ENGINE, ['rm', '-f', '-v', '-t', '0', container(s)], { timeoutMs: 60_000 });
    await run(COMPOSE[0]!, [...COMPOSE.slice(1), '-p', project, '-f', 'docker-compose.yml', 'down', '-v'], { cwd: dir, timeoutMs: 180_000 });
    if (ENGINE === 'podman') await run('podman', ['network', 'rm', '-f', `${project}_default`]);
    for (const v of leftVolumes) await run(ENGINE, ['volume', 'rm', '-f', v]);
    rmSync(dir, { recursive: true, force: true });
  }, 240_000);

  it('HTTP redirects to HTTPS; /metrics is not public', async () => {
    const redirect = await new Promise<{ status: number; location: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: httpPort, path: '/join/ABC123', headers: { host: 'focus.example.com', connection: 'close' } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, location: String(res.headers.location) });
      });
      req.on('error', reject);
      req.end();
    });
    expect(redirect).toEqual({ status: 301, location: 'https://focus.example.com/join/ABC123' });
    expect((await httpsGet('/metrics')).status).toBe(404);
    const health = await httpsGet('/health');
    expect(health.body).toMatchObject({ status: 'ok', redis: 'ok', database: 'ok' });
  }, 30_000);

  it('every healthcheck passes as written', async () => {
    for (const s of ['app1', 'app2', 'lb', 'redis', 'postgres']) {
      const r = await eventually(`${s} healthcheck`, async () => {
        const res = await run(ENGINE, ['healthcheck', 'run', container(s)], { timeoutMs: 30_000 });
        return res.code === 0 ? res : undefined;
      }, 30_000);
      expect(r.code, s).toBe(0);
    }
  }, 180_000);

  it('a room with clients on both replicas over wss://; the result is in PostgreSQL', async () => {
    const host = sdk();
    const created = await host.create({ user_name: 'Host', session_duration: 2_000 });
    const guests = [sdk(), sdk(), sdk()];
    for (const [i, g] of guests.entries()) await g.join(created.room_code, `Guest${i + 1}`);
    // Round robin over two replicas: four WebSockets land two and two.
    const open = await connections();
    expect(open.app1, JSON.stringify(open)).toBeGreaterThanOrEqual(1);
    expect(open.app2, JSON.stringify(open)).toBeGreaterThanOrEqual(1);
    const completions = [host, ...guests].map((c) => new Promise<void>((resolve) => c.on('session_completed', () => resolve())));
    await host.start();
    await Promise.all(completions);
    const rows = await eventually('round_results in PostgreSQL', async () => {
      const n = Number(await sql(`select count(*) from round_results r join rounds o using (room_id, run_started_at, round) where o.room_code = '${created.room_code}'`));
      return n === 4 ? n : undefined;
    }, 15_000);
    expect(rows).toBe(4);
    for (const c of [host, ...guests]) c.close();
  }, 120_000);

  it('a rolling restart mid-countdown: every client resumes on the other replica and completes once', async () => {
    const all = [sdk(), sdk(), sdk(), sdk()];
    const [host, ...guests] = all as [FocusroomClient, ...FocusroomClient[]];
    const created = await host.create({ user_name: 'Host', session_duration: ROUND_MS });
    for (const [i, g] of guests.entries()) await g.join(created.room_code, `Guest${i + 1}`);
    const completed = all.map(() => 0);
    const resumed = all.map(() => 0);
    const lost: string[] = [];
    all.forEach((c, i) => {
      c.on('session_completed', () => completed[i]!++);
      c.on('resumed', () => resumed[i]!++);
      c.on('seat_lost', ({ reason }) => lost.push(`${i}:${reason}`));
    });
    const before = await connections();
    await host.start();
    const t0 = Date.now();

    for (const [down, up] of [['app1', 'app2'], ['app2', 'app1']] as const) {
      const had = before[down];
      const t = Date.now();
      await must(ENGINE, ['stop', '-t', '20', container(down)], { timeoutMs: 60_000 });
      report(`rolling: ${down} stopped (SIGTERM to exit)`, `${Date.now() - t} ms, ${had} of 4 sockets were on it`);
      // Every client is now on the other replica, seated again: mid-countdown.
      await eventually(`all 4 sockets on ${up}`, async () => (await replicaHealth(up)).connections === 4 || undefined, 30_000);
      report(`rolling: all 4 sockets on ${up}`, `${Date.now() - t} ms after the stop began, ${Date.now() - t0} ms into the round`);
      expect(Date.now() - t0, `the clients moved to ${up} before the round ended`).toBeLessThan(ROUND_MS);
      expect(all.map((c) => c.session?.status)).toEqual(['active', 'active', 'active', 'active']);
      const s = Date.now();
      await must(ENGINE, ['start', container(down)], { timeoutMs: 60_000 });
      await eventually(`${down} healthy again`, async () => (await replicaHealth(down)).status === 'ok', 60_000);
      report(`rolling: ${down} started to /health 200`, `${Date.now() - s} ms`);
      // haproxy marks it up after two good checks 2 s apart; wait for that before the next stop.
      if (down === 'app1') await sleep(5_000);
      before.app1 = down === 'app1' ? 0 : 4;
      before.app2 = down === 'app2' ? 0 : 4;
    }
    report('rolling restart of both replicas', `${Date.now() - t0} ms after the start of a ${ROUND_MS / 1000} s round`);
    expect(lost).toEqual([]);

    await eventually('every client completed', async () => completed.every((n) => n >= 1) || undefined, 60_000);
    await sleep(1_000);
    report('rolling: completions per client', completed.join(', '));
    report('rolling: resumes per client', resumed.join(', '));
    expect(completed).toEqual([1, 1, 1, 1]);
    // The first stop moved its clients, the second the rest: every client resumed at least once.
    expect(resumed.every((n) => n >= 1), resumed.join(',')).toBe(true);
    const rows = await eventually('round_results in PostgreSQL', async () => {
      const n = Number(await sql(`select count(*) from round_results r join rounds o using (room_id, run_started_at, round) where o.room_code = '${created.room_code}' and r.status = 'completed'`));
      return n === 4 ? n : undefined;
    }, 15_000);
    expect(rows).toBe(4);
    for (const c of all) c.close();
  }, 240_000);

  it('down + up keeps PostgreSQL results and Redis rooms', async () => {
    const host = sdk();
    const waiting = await host.create({ user_name: 'Keeper', session_duration: ROUND_MS });
    await sleep(1_500); // Redis fsyncs the append-only file every second
    host.close();
    const resultsBefore = Number(await sql('select count(*) from round_results'));
    expect(resultsBefore).toBeGreaterThanOrEqual(8);

    for (const svc of ['app1', 'app2']) leftVolumes.push(...(await anonymousVolumes(svc)));
    const t0 = Date.now();
    await compose(['down']);
    await compose(['up', '-d']);
    await waitUntilServing();
    report('compose down + up to HTTPS /health 200', `${Date.now() - t0} ms`);

    expect(Number(await sql('select count(*) from round_results'))).toBe(resultsBefore);
    const room = await httpsGet(`/sessions/${waiting.room_code}`);
    expect(room.status, JSON.stringify(room.body)).toBe(200);
    expect(room.body).toMatchObject({ room_code: waiting.room_code, status: 'waiting' });
  }, 600_000);

  it('a pg_dump of the results restores (docs/deploy.md "Backups")', async () => {
    const count = await sql('select count(*) from round_results');
    const restored = await must(ENGINE, [
      'exec',
      container('postgres'),
      'sh',
      '-c',
      'pg_dump -U focusroom -Fc focusroom > /tmp/focusroom.dump && createdb -U focusroom restored && pg_restore -U focusroom -d restored /tmp/focusroom.dump && psql -U focusroom -d restored -tAc "select count(*) from round_results"',
    ]);
    expect(restored.trim()).toBe(count);
  }, 60_000);
});
