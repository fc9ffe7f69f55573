/**
 * Graceful shutdown of the real process: on SIGTERM (and SIGINT) /health stops saying ok,
 * clients are disconnected so they can resume elsewhere, new connections are refused,
 * and the process exits 0 within SHUTDOWN_GRACE_MS even with a countdown running.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { call, closeAllClients, connect, eventually, record, roomWith, waitFor } from '../helpers/client.js';
import { killIfRunning, type ServerProcess, spawnServer, waitUntilHealthy } from '../helpers/process.js';

const GRACE = 3_000;
let proc: ServerProcess | undefined;
afterEach(() => {
  closeAllClients();
  killIfRunning(proc);
});

/** /health after the signal: 503 draining while the port is still open, else refused. */
async function healthAfterSignal(url: string): Promise<number | 'refused'> {
  try {
    const res = await fetch(`${url}/health`);
    const body = (await res.json()) as { status: string };
    if (res.status === 503) expect(body.status).toBe('draining');
    return res.status;
  } catch {
    return 'refused';
  }
}

describe.each(['SIGTERM', 'SIGINT'] as const)('%s', (signal) => {
  it('disconnects clients, stops answering ok, refuses new connections and exits 0 within the grace', async () => {
    proc = await spawnServer({ SHUTDOWN_GRACE_MS: String(GRACE) });
    await waitUntilHealthy(proc);
    const [a, b] = await Promise.all([connect(proc.url), connect(proc.url)]);
    await roomWith(a, [b], { session_duration: 60_000 });
    await call(a, 'start_session');
    await waitFor(a, 'time_update', 2_000);
    const disconnects = [waitFor(a, 'disconnect', GRACE), waitFor(b, 'disconnect', GRACE)];
    const lateEvents = record(a, 'participant_left');

    const sentAt = Date.now();
    proc.child.kill(signal);
    // The drain window (SHUTDOWN_DRAIN_MS, default 1 s): /health says 503 draining and
    // newcomers are refused while the current clients are still connected.
    const server = proc;
    await eventually(async () => expect(await healthAfterSignal(server.url)).toBe(503), 900, 20);
    expect([a.connected, b.connected]).toEqual([true, true]);
    await expect(connect(proc.url, { timeout: 1_000 })).rejects.toThrow();
    const reasons = await Promise.all(disconnects);
    // "transport close", not "io server disconnect": socket.io-client reconnects by itself
    // after the former (to another instance behind the load balancer) and not after the latter.
    for (const r of reasons) expect(r).toBe('transport close');
    expect([503, 'refused']).toContain(await healthAfterSignal(proc.url));

    const exit = await proc.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - sentAt).toBeLessThan(GRACE);
    expect(lateEvents).toEqual([]);
    expect(proc.stderr()).not.toMatch(/error/i);
  });
});

describe('an idle server', () => {
  it('exits 0 on SIGTERM at once', async () => {
    proc = await spawnServer({ SHUTDOWN_GRACE_MS: String(GRACE) });
    await waitUntilHealthy(proc);
    const sentAt = Date.now();
    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - sentAt).toBeLessThan(1_500);
  });
});
