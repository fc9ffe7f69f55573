/**
 * scripts/run-cluster.sh runs the shipped topology on loopback: redis-server, two
 * instances and haproxy with the loopback variant of deploy/haproxy.cfg. Through haproxy:
 * /health answers, and a room is created on one socket and joined on another.
 * The script is stopped with SIGTERM, as Ctrl-C would, and stops what it started.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { exitOf, trackChild } from '../helpers/children.js';
import { call, closeAllClients, connect, waitFor } from '../helpers/client.js';
import { getJson } from '../helpers/http.js';
import { freePort } from '../helpers/ports.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { registerTeardown } from '../helpers/teardown.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const UP_TIMEOUT_MS = 45_000;

/** Kills by PID what the script started (its pid file), if the script itself could not. */
function killListed(runDir: string): void {
  const file = join(runDir, 'pids');
  if (!existsSync(file)) return;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const pid = Number(line.split(' ')[0]);
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

describe('scripts/run-cluster.sh', () => {
  it('serves /health and a socket round trip through haproxy; SIGTERM stops everything', { timeout: 90_000 }, async () => {
    const [lbPort, app1, app2, redisPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const runDir = mkdtempSync(join(tmpdir(), 'focusroom-run-cluster-'));
    const script = trackChild(
      spawn('bash', ['scripts/run-cluster.sh'], {
        cwd: ROOT,
        env: { ...process.env, LB_PORT: String(lbPort), APP_PORTS: `${app1} ${app2}`, REDIS_PORT: String(redisPort), RUNTIME: 'src', RUN_DIR: runDir, SHUTDOWN_GRACE_MS: '3000', LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    let out = '';
    script.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    script.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = exitOf(script);
    registerTeardown(async () => {
      closeAllClients();
      if (script.exitCode === null && script.signalCode === null) {
        script.kill('SIGTERM');
        await Promise.race([exited, sleep(15_000)]);
      }
      if (script.exitCode === null && script.signalCode === null) script.kill('SIGKILL');
      killListed(runDir);
    });

    const deadline = Date.now() + UP_TIMEOUT_MS;
    while (!out.includes('[cluster] up: ')) {
      if (script.exitCode !== null) throw new Error(`run-cluster.sh exited early:\n${out}`);
      if (Date.now() > deadline) throw new Error(`run-cluster.sh not up within ${UP_TIMEOUT_MS} ms:\n${out}`);
      await sleep(100);
    }
    const lb = `http://127.0.0.1:${lbPort}`;
    expect(readFileSync(join(runDir, 'haproxy.cfg'), 'utf8')).toContain(`bind 127.0.0.1:${lbPort}`);

    const health = await getJson(`${lb}/health`);
    expect(health.status, out).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', redis: 'ok' });
    expect(['app1', 'app2']).toContain(health.body.instance);

    const host = await connect(lb);
    const guest = await connect(lb);
    const created = await call(host, 'create_session', { user_name: 'Host' });
    expect(created.ok).toBe(true);
    const seen = waitFor(host, 'participant_joined');
    const joined = await call(guest, 'join_session', { room_code: created.room_code, user_name: 'Guest' });
    expect(joined.ok).toBe(true);
    expect((await seen).participant.user_name).toBe('Guest');

    closeAllClients();
    script.kill('SIGTERM');
    await exited;
    expect(out).toContain('[cluster] stopped');
    expect(existsSync(join(runDir, 'pids'))).toBe(false);
  });
});
