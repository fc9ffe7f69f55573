/**
 * The SDK behind haproxy (the shipped topology: a loopback variant of deploy/haproxy.cfg)
 * with two instances and a real Redis. The instance holding the client's socket gets
 * SIGTERM and drains: the client reconnects through haproxy to the other instance,
 * resumes its seat by itself (one `resumed`), and its countdown completes there.
 *
 * Skips, with a message, when no haproxy binary is installed (.ci/run installs it).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type FocusroomClient } from '../../src/client/index.js';
import { eventually } from '../helpers/client.js';
import { LIFTED_ABUSE_BOUNDS } from '../helpers/server.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { type ChildServer, spawnServer } from '../integration/security-support.js';

const HAPROXY = spawnSync('haproxy', ['-v']).status === 0;
if (!HAPROXY) console.warn('client-drain test SKIPPED: no haproxy binary (apt-get install -y haproxy)');

let redis: TestRedis;
let a: ChildServer;
let b: ChildServer;
let lb: ChildProcess | null = null;
let lbUrl = '';
let dir = '';
const clients: FocusroomClient[] = [];

/** deploy/haproxy.cfg with the two instances on loopback, fast health checks and no Docker DNS. */
function loopbackConfig(port: number, backends: number[]): string {
  const shipped = readFileSync(new URL('../../deploy/haproxy.cfg', import.meta.url), 'utf8');
  const defaults = shipped.slice(shipped.indexOf('\ndefaults'), shipped.indexOf('\nfrontend'));
  return [
    'global',
    '    log stdout format raw local0 warning',
    defaults,
    '',
    'frontend fe_focusroom',
    `    bind 127.0.0.1:${port}`,
    '    http-request del-header X-Forwarded-For',
    '    option forwardfor',
    '    default_backend be_focusroom',
    '',
    'backend be_focusroom',
    '    balance roundrobin',
    '    option httpchk GET /health',
    '    http-check expect status 200',
    '    option redispatch',
    '    retries 2',
    // A loaded machine may answer a check slowly: give it time (the default is `inter`).
    '    timeout check 2s',
    '    default-server check inter 200ms fall 2 rise 1',
    ...backends.map((p, i) => `    server app${i + 1} 127.0.0.1:${p}`),
    '',
  ].join('\n');
}

describe.skipIf(!HAPROXY)('SDK through haproxy, one instance drained', () => {
  beforeAll(async () => {
    redis = await startRedis();
    const env = {
      REDIS_URL: redis.url,
      SHUTDOWN_GRACE_MS: '4000',
      SHUTDOWN_DRAIN_MS: '500',
      DISCONNECT_GRACE_MS: '30000',
      TRUST_PROXY: 'true',
      RATE_CONNECTIONS_PER_MIN: '1000000',
      RATE_SOCKET_EVENTS_PER_SEC: '1000',
      ...LIFTED_ABUSE_BOUNDS,
    };
    [a, b] = await Promise.all([spawnServer({ ...env, INSTANCE_ID: 'sdk-a' }), spawnServer({ ...env, INSTANCE_ID: 'sdk-b' })]);
    dir = mkdtempSync(join(tmpdir(), 'focusroom-haproxy-'));
    const port = await freePort();
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, loopbackConfig(port, [a.port, b.port]));
    lb = spawn('haproxy', ['-db', '-f', cfg], { stdio: 'ignore' });
    lbUrl = `http://127.0.0.1:${port}`;
    await eventually(async () => expect((await fetch(`${lbUrl}/health`)).status).toBe(200), 10_000, 100);
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    lb?.kill('SIGKILL');
    a?.kill();
    b?.kill();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the client resumes on the other instance and its countdown completes there', async () => {
    const mk = () => {
      const c = connect(lbUrl, { timeoutMs: 5_000, socketOptions: { reconnectionDelay: 100, reconnectionDelayMax: 500 } });
      clients.push(c);
      return c;
    };
    const [host, guest] = [mk(), mk()];
    await Promise.all([host.ready(), guest.ready()]);
    const created = await host.create({ user_name: 'Ann', session_duration: 6_000 });
    await guest.join(created.room_code, 'Bo');
    await host.start();
    const endsAt = host.session!.ends_at!;

    // Whichever instance holds sockets is drained; haproxy may have put both clients on one.
    const conns = await Promise.all([a, b].map(async (s) => ((await (await fetch(`${s.url}/health`)).json()) as { connections: number }).connections));
    expect(conns[0]! + conns[1]!).toBe(2);
    const onVictim = Math.max(conns[0]!, conns[1]!);
    const victim = conns[0]! >= conns[1]! ? a : b;
    const resumed: unknown[][] = [[], []];
    host.on('resumed', (e) => resumed[0]!.push(e));
    guest.on('resumed', (e) => resumed[1]!.push(e));
    const completed = Promise.all([host, guest].map((c) => new Promise<any>((resolve) => c.on('session_completed', resolve))));
    victim.proc.kill('SIGTERM');
    expect((await victim.exited).code).toBe(0);
    // Each client that was on the drained instance came back (through haproxy, on the other) exactly once.
    await eventually(() => expect(resumed[0]!.length + resumed[1]!.length).toBe(onVictim), 8_000, 50);
    expect(host.participantId).toBe(created.participant_id);
    for (const c of [host, guest]) {
      expect(c.session!.ends_at).toBe(endsAt);
      expect(c.session!.participants.map((p) => p.user_name).sort()).toEqual(['Ann', 'Bo']);
    }
    const done = await completed;
    expect(done.map((d) => d.final)).toEqual([true, true]);
    expect(Date.now() - endsAt).toBeLessThan(2_000);
    expect(resumed.map((r) => r.length).every((n) => n <= 1)).toBe(true);
    expect(resumed[0]!.length + resumed[1]!.length).toBe(onVictim);
    expect(host.session!.status).toBe('completed');
  }, 40_000);
});
