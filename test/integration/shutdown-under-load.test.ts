/**
 * Graceful shutdown under load: a child server process with 1,000 connected clients in
 * 250 running rooms gets SIGTERM. /health must stop answering 200 at once (503 draining,
 * or connection refused once the port is closed), every client must be disconnected with
 * "transport close" (so socket.io-client would reconnect elsewhere by itself), new
 * connections must be refused, and the process must exit 0 within SHUTDOWN_GRACE_MS.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { call, type Client, closeAllClients, connect, waitFor } from '../helpers/client.js';
import { LIFTED_ABUSE_BOUNDS } from '../helpers/server.js';
import { type ChildServer, spawnServer } from './security-support.js';

const CLIENTS = 1_000;
const PER_ROOM = 4;
const GRACE_MS = 10_000;

let child: ChildServer | undefined;
afterAll(() => {
  closeAllClients();
  child?.kill();
});

async function inBatches<T, R>(items: T[], size: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map((x, j) => fn(x, i + j)))));
  return out;
}

describe('SIGTERM with 1,000 clients in 250 rooms', () => {
  it('turns /health 503 at once, disconnects everyone, refuses newcomers and exits 0 within the grace', async () => {
    child = await spawnServer({
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      MAX_PARTICIPANTS: String(PER_ROOM),
      RATE_CONNECTIONS_PER_MIN: '1000000',
      RATE_CREATES_PER_MIN: '1000000',
      RATE_JOIN_FAILURES_PER_MIN: '1000000',
      RATE_SOCKET_EVENTS_PER_SEC: '1000',
      ...LIFTED_ABUSE_BOUNDS,
    });
    const url = child.url;

    const clients: Client[] = await inBatches(Array.from({ length: CLIENTS }), 100, () => connect(url, { timeout: 10_000 }));
    const rooms = await inBatches(Array.from({ length: CLIENTS / PER_ROOM }), 25, async (_, r) => {
      const [host, ...guests] = clients.slice(r * PER_ROOM, (r + 1) * PER_ROOM);
      const created = await call(host!, 'create_session', { user_name: `H${r}`, session_duration: 120_000 }, 10_000);
      if (!created.ok) throw new Error(`create: ${JSON.stringify(created)}`);
      for (const g of guests) {
        const joined = await call(g, 'join_session', { room_code: created.room_code, user_name: `G${r}` }, 10_000);
        if (!joined.ok) throw new Error(`join: ${JSON.stringify(joined)}`);
      }
      const started = await call(host!, 'start_session', {}, 10_000);
      if (!started.ok) throw new Error(`start: ${JSON.stringify(started)}`);
      return created.room_code as string;
    });
    expect(new Set(rooms).size).toBe(CLIENTS / PER_ROOM);
    await waitFor(clients[0]!, 'time_update', 2_000);
    const before = (await (await fetch(`${url}/health`)).json()) as { connections: number; sessions: number };
    expect(before).toMatchObject({ connections: CLIENTS, sessions: CLIENTS / PER_ROOM });

    const reasons = new Map<string, number>();
    let lastDisconnectAt = 0;
    const allGone = Promise.all(
      clients.map(
        (c) =>
          new Promise<void>((resolve) =>
            c.once('disconnect', (reason) => {
              reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
              lastDisconnectAt = Date.now();
              resolve();
            }),
          ),
      ),
    );

    // Poll /health as a load balancer would, from just before the signal.
    const health: Array<{ sentAt: number; status: number | 'refused' }> = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const sentAt = Date.now();
        try {
          const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
          const body = (await res.json()) as { status: string };
          if (res.status === 503) expect(body.status).toBe('draining');
          health.push({ sentAt, status: res.status });
        } catch {
          health.push({ sentAt, status: 'refused' });
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await new Promise((r) => setTimeout(r, 50));

    const signalAt = Date.now();
    child.proc.kill('SIGTERM');
    await allGone;
    const disconnectMs = lastDisconnectAt - signalAt;
    // Newcomers are refused while draining / once closed.
    await expect(connect(url, { timeout: 2_000 })).rejects.toThrow();
    const exit = await child.exited;
    polling = false;
    await poller;
    const exitMs = exit.at - signalAt;

    const firstNot200 = health.find((h) => h.sentAt >= signalAt && h.status !== 200);
    const late200 = health.filter((h) => h.sentAt >= signalAt + 100 && h.status === 200);
    console.log(
      `shutdown: ${CLIENTS} clients in ${rooms.length} rooms; all disconnected ${disconnectMs} ms after SIGTERM; exit code ${exit.code} after ${exitMs} ms; ` +
        `/health after the signal ${JSON.stringify(health.filter((h) => h.sentAt >= signalAt - 20).slice(0, 6).map((h) => [h.sentAt - signalAt, h.status]))}; first non-200 /health ${firstNot200 ? firstNot200.sentAt - signalAt : 'n/a'} ms after the signal (${firstNot200?.status}); reasons ${JSON.stringify(Object.fromEntries(reasons))}`,
    );
    expect(health.some((h) => h.sentAt < signalAt && h.status === 200)).toBe(true);
    expect(late200).toEqual([]);
    expect(firstNot200).toBeDefined();
    expect(reasons).toEqual(new Map([['transport close', CLIENTS]]));
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(GRACE_MS);
    const logs = child.logs();
    expect(logs.filter((l) => Number(l.level) >= 50)).toEqual([]);
    expect(logs.some((l) => l.msg === 'closed')).toBe(true);
  }, 30_000);
});
