/**
 * What `npm start` does on a fresh clone: the embedded store of record opens
 * a new DATA_DIR while the first room runs, and that room must not notice. The server runs
 * with its shipped defaults (load shedding at EVENT_LOOP_LAG_SHED_MS included), as its own
 * process; the clients connect the moment /health first answers.
 */
import { expect, it } from 'vitest';
import { call, connect, record, roomWith, waitFor } from '../helpers/client.js';
import { getJson } from '../helpers/http.js';
import { killIfRunning, type ServerProcess, spawnServer } from '../helpers/process.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** Ticks may arrive this late on a loaded machine; a stalled loop made them 1.3 s late. */
const LATE_MS = 200;

let server: ServerProcess | undefined;

it('a room started right after the server starts gets every tick on time and no unavailable', async () => {
  server = await spawnServer({ LOG_LEVEL: 'warn' });
  try {
    // The moment it listens, polling every 20 ms as a load balancer or an impatient user would.
    let health: Record<string, any> | null = null;
    const deadline = Date.now() + 45_000;
    while (!health && Date.now() < deadline) {
      try {
        const res = await getJson(`${server.url}/health`, 1_000);
        if (res.status === 200) health = res.body as Record<string, any>;
      } catch {
        await sleep(20);
      }
    }
    expect(health, server.stderr()).not.toBeNull();

    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const { created } = await roomWith(host, [guest], { session_duration: 3_000 });
    expect(created.ok).toBe(true);
    const ticks = [host, guest].map((c) => record(c, 'time_update'));
    const errors = [host, guest].map((c) => record(c, 'error'));
    const done = [host, guest].map((c) => waitFor(c, 'session_completed', 8_000));
    const started = await call(host, 'start_session');
    expect(started.ok, JSON.stringify(started)).toBe(true);
    // A guest's status change during the countdown is answered too (the lag shed refused these).
    for (const status of ['paused', 'focusing'] as const) {
      const ack = await call(guest, 'update_status', { status });
      expect(ack.ok, JSON.stringify(ack)).toBe(true);
    }
    const completed = await Promise.all(done);
    const endsAt = started.session.ends_at as number;
    for (const [i, list] of ticks.entries()) {
      expect(list.map((t) => t.time_left_ms)).toEqual([2_000, 1_000]);
      for (const t of list) expect(t._at - (endsAt - t.time_left_ms), `client ${i} tick ${t.time_left_ms}`).toBeLessThanOrEqual(LATE_MS);
    }
    for (const c of completed) expect(c.results).toHaveLength(2);
    for (const e of errors) expect(e).toEqual([]);
    // And the store of record was opened meanwhile.
    const after = await getJson(`${server.url}/health`);
    expect(after.body).toMatchObject({ status: 'ok', database: 'ok' });
  } finally {
    killIfRunning(server);
  }
}, 90_000);
