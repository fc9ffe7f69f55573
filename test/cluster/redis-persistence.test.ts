/**
 * Redis persistence in the compose deploy: docker-compose's Redis once kept nothing on disk (`--save "" --appendonly
 * no`), so a Redis restart in the documented deployment lost every room. The compose file
 * now runs Redis with an append-only file (`--appendonly yes --appendfsync everysec`) on a
 * volume. Here a real redis-server runs with exactly the compose file's flags (read from
 * docker-compose.yml: one source of truth) and its own --dir, is killed with SIGKILL (a
 * crash, not a clean shutdown) and restarted on the same port and files: the room, its
 * seq, its seats and its countdown are all still there, and its clients are not told
 * `room_closed`. (Without persistence the same crash loses the room: redis-outage.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, closeAllClients, connect, eventually, record, roomWith } from '../helpers/client.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startServer, type TestServer } from '../helpers/server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, { image?: string; command?: string[] }> };
const redisCommand = Object.values(compose.services).find((s) => /^redis:/.test(s.image ?? ''))!.command!;
/** appendfsync everysec: a write is on disk within about a second (wait a little more). */
const FSYNC_WAIT_MS = 1_500;

let dir: string;
let redis: TestRedis;
let server: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'focusroom-aof-'));
  expect(redisCommand[0]).toBe('redis-server');
  redis = await startRedis({ args: [...redisCommand.slice(1), "--dir", dir] });
  server = await startServer({ REDIS_URL: redis.url, INSTANCE_ID: 'aof-a' }, { redisPrefix: 'aof:' });
});
afterAll(async () => {
  closeAllClients();
  await server?.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('compose Redis persistence (AOF, everysec)', () => {
  it('a crashed and restarted Redis still has the room: same seq, seats and ends_at; the countdown goes on', async () => {
    expect(redisCommand.join(' ')).toMatch(/--appendonly yes .*--appendfsync everysec/);
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code } = await roomWith(host, [guest], { session_duration: 60_000 });
    expect((await call(host, 'start_session', {})).ok).toBe(true);
    const before = await server.app.store.get(code);
    expect(before?.status).toBe('active');
    const closed = record(host, 'room_closed');
    await new Promise((r) => setTimeout(r, FSYNC_WAIT_MS));

    redis.kill();
    await redis.restart();
    // The store reconnects by itself; the room is read back from the append-only file.
    await eventually(async () => expect((await fetch(`${server.url}/health`)).status).toBe(200), 10_000, 100);
    const after = await server.app.store.get(code);
    expect(after).toMatchObject({ seq: before!.seq, status: 'active', ends_at: before!.ends_at });
    expect(after!.participants.map((p) => p.id)).toEqual(before!.participants.map((p) => p.id));

    // The room works on: a pause is applied and broadcast, and nobody was told room_closed.
    const paused = await call(host, 'pause_session', {});
    expect(paused).toMatchObject({ ok: true });
    expect((await server.app.store.get(code))!.seq).toBe(before!.seq + 1);
    expect(closed).toHaveLength(0);
  }, 30_000);
});
