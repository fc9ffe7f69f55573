/**
 * A bench client worker: one child process holding a share of the connections, so the
 * clients do not run on the server's event loop. Speaks request/response IPC with the
 * harness (bench/run.ts): connect, seat (rooms of 4), start, record ticks over a window,
 * room events at a fixed rate, churn (create/join/leave at a fixed rate), close.
 *
 * Tick lateness is measured here, on arrival: `arrival − (ends_at − time_left_ms)`, the
 * due time being the whole second of `ends_at` the tick announces. Arrival is read from
 * the same wall clock the server stamps `ends_at` with (same machine), at sub-ms
 * resolution; so it includes the server's own delay, loopback, and this process's delay
 * in reading the frame. The two parts are also kept apart, from the tick's `server_now`
 * (stamped by the server just before it sends): `server_now − due` is the server's own
 * lateness, `arrival − server_now` the delivery (loopback + client).
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { Hist } from './lib/hist.js';

type Mode = 'sio' | 'ws' | 'colyseus';

/** The Colyseus SDK rooms of `colyseus` mode (the benchmark peer, bench/peers/colyseus), loaded from there on first use. */
interface ColyseusRoom {
  roomId: string;
  onMessage(type: string, cb: (p: TickPayload) => void): void;
  leave(consented?: boolean): Promise<unknown>;
}
interface ColyseusClient {
  create(name: string, options?: object): Promise<ColyseusRoom>;
  joinById(id: string, options?: object): Promise<ColyseusRoom>;
}
async function colyseusClient(url: string): Promise<ColyseusClient> {
  const peer = new URL('./peers/colyseus/package.json', import.meta.url);
  const entry = createRequire(peer).resolve('@colyseus/sdk');
  const sdk = (await import(pathToFileURL(entry).href)) as { Client: new (url: string) => ColyseusClient };
  return new sdk.Client(url);
}

interface TickPayload {
  time_left_ms: number;
  ends_at: number;
  server_now: number;
}

const wallNow = (): number => performance.timeOrigin + performance.now();

let mode: Mode = 'sio';
const sios: Socket[] = [];
const wss: WebSocket[] = [];
const cys: ColyseusRoom[] = [];
/** Per connection: the last `time_left_ms` seen, to spot skipped or repeated seconds. */
let lastLeft: Float64Array = new Float64Array(0);
const rooms: string[] = [];

let recording = false;
let hist = new Hist();
/** `server_now − due`: how late the server emitted (its own clock, no client-side delay). */
let emitHist = new Hist();
/** `arrival − server_now`: loopback + this process's delay in reading the frame. */
let transitHist = new Hist();
let delivered = 0;
let skipped = 0;
let repeated = 0;
let ticksTotal = 0;
let recordSince = 0;
/** Room events (`events-start`): timers, acks received, failures. */
const eventTimers: NodeJS.Timeout[] = [];
let eventsSent = 0;
let eventsFailed = 0;
let eventsErrors: Record<string, number> = {};
/** Per connection: the status it last set (events-start toggles it). */
const statuses: string[] = [];

function onTick(i: number, p: TickPayload): void {
  ticksTotal += 1;
  const prev = lastLeft[i]!;
  lastLeft[i] = p.time_left_ms;
  if (!recording) return;
  delivered += 1;
  const due = p.ends_at - p.time_left_ms;
  const now = wallNow();
  hist.add(now - due);
  emitHist.add(p.server_now - due);
  transitHist.add(now - p.server_now);
  if (prev > 0) {
    if (p.time_left_ms >= prev) repeated += 1;
    else if (prev - p.time_left_ms > 1000) skipped += (prev - p.time_left_ms) / 1000 - 1;
  }
}

async function pool<T>(items: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  const results: PromiseSettledResult<T>[] = new Array(items);
  let next = 0;
  const worker = async () => {
    while (next < items) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await fn(i) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items) }, worker));
  return results;
}

function connectSio(url: string, i: number): Promise<void> {
  const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 20_000 });
  sios[i] = s;
  s.on('time_update', (p: TickPayload) => onTick(i, p));
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('connect_error', (err) => reject(err));
  });
}

function connectWs(url: string, i: number, group: number): Promise<void> {
  const ws = new WebSocket(`${url}/?g=${group}`, { perMessageDeflate: false });
  wss[i] = ws;
  ws.on('message', (data) => {
    const text = data.toString();
    if (!text.startsWith('42')) return;
    const [ev, p] = JSON.parse(text.slice(2)) as [string, TickPayload];
    if (ev === 'time_update') onTick(i, p);
  });
  ws.on('error', () => {});
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', (err) => reject(err));
  });
}

async function ack(s: Socket, event: string, payload: unknown, timeoutMs = 15_000): Promise<any> {
  return s.timeout(timeoutMs).emitWithAck(event, payload);
}

const handlers: Record<string, (msg: any) => Promise<unknown>> = {
  async connect(msg: { mode: Mode; urls: string[]; count: number; concurrency: number; groupBase: number; span?: number }) {
    mode = msg.mode;
    lastLeft = new Float64Array(msg.count);
    const t0 = performance.now();
    const k = msg.urls.length;
    if (mode === 'colyseus') {
      // Rooms of 4 as the bench seats focusroom's: the first member creates, three join it by id.
      const client = await colyseusClient(msg.urls[0]!);
      const groups = await pool(msg.count / 4, msg.concurrency, async (g) => {
        const first = await client.create('tick', {});
        const members = [first];
        for (let j = 1; j < 4; j++) members.push(await client.joinById(first.roomId, {}));
        members.forEach((room, j) => {
          const i = g * 4 + j;
          cys[i] = room;
          room.onMessage('time_update', (p) => onTick(i, p));
        });
      });
      const failed = groups.filter((r) => r.status === 'rejected');
      return {
        connected: (groups.length - failed.length) * 4,
        failed: failed.length * 4,
        firstError: failed[0] ? String((failed[0] as PromiseRejectedResult).reason?.message ?? failed[0]) : null,
        ms: performance.now() - t0,
      };
    }
    const results = await pool(msg.count, msg.concurrency, (i) => {
      // Default: members of one room alternate between the URLs (2 instances → 2 + 2), and
      // the host's instance alternates from room to room. With `span`: room r (numbered
      // across workers) puts its 4 members on `span` consecutive instances of the ring
      // starting at r mod k (span 2: members 0–1 on one, 2–3 on the next), so every
      // instance holds as many rooms and connections as the others, whatever k is.
      const r = msg.groupBase + Math.floor(i / 4);
      const url = msg.span ? msg.urls[(r + Math.floor(((i % 4) * msg.span) / 4)) % k]! : msg.urls[(i + Math.floor(i / 4)) % k]!;
      return mode === 'sio' ? connectSio(url, i) : connectWs(url, i, msg.groupBase + Math.floor(i / 4));
    });
    const failed = results.filter((r) => r.status === 'rejected');
    return {
      connected: results.length - failed.length,
      failed: failed.length,
      firstError: failed[0] ? String((failed[0] as PromiseRejectedResult).reason?.message ?? failed[0]) : null,
      ms: performance.now() - t0,
    };
  },

  /** Consecutive sockets, 4 at a time, become one room: the first creates, three join. */
  async seat(msg: { durationMs: number; concurrency: number }) {
    const n = Math.floor(sios.length / 4);
    const t0 = performance.now();
    const results = await pool(n, msg.concurrency, async (r) => {
      const [host, ...guests] = sios.slice(r * 4, r * 4 + 4) as [Socket, ...Socket[]];
      const created = await ack(host, 'create_session', { user_name: `h${r}`, session_duration: msg.durationMs, max_participants: 4 });
      if (!created.ok) throw new Error(`create: ${JSON.stringify(created.error)}`);
      rooms[r] = created.room_code;
      for (const [j, g] of guests.entries()) {
        const joined = await ack(g, 'join_session', { room_code: created.room_code, user_name: `g${r}-${j}` });
        if (!joined.ok) throw new Error(`join: ${JSON.stringify(joined.error)}`);
      }
    });
    const failed = results.filter((r) => r.status === 'rejected');
    return { rooms: n - failed.length, failed: failed.length, firstError: failed[0] ? String((failed[0] as PromiseRejectedResult).reason?.message) : null, ms: performance.now() - t0 };
  },

  /** Hosts start their rooms spread evenly over `spreadMs`, interleaved with the other workers' rooms. */
  async start(msg: { spreadMs: number; slot: number; slots: number }) {
    const n = rooms.length;
    const t0 = performance.now();
    let failed = 0;
    let firstError: string | null = null;
    await Promise.all(
      rooms.map(
        (_, r) =>
          new Promise<void>((resolve) => {
            const at = ((r * msg.slots + msg.slot) / Math.max(1, n * msg.slots)) * msg.spreadMs;
            setTimeout(async () => {
              try {
                const res = await ack(sios[r * 4]!, 'start_session', {});
                if (!res.ok) throw new Error(JSON.stringify(res.error));
              } catch (err) {
                failed += 1;
                firstError ??= String((err as Error).message);
              }
              resolve();
            }, at);
          }),
      ),
    );
    return { started: n - failed, failed, firstError, ms: performance.now() - t0 };
  },

  /** `set_ticks` on every socket (quiet clients, docs/protocol.md). */
  async ticks(msg: { enabled: boolean; concurrency: number }) {
    const results = await pool(sios.length, msg.concurrency, async (i) => {
      const res = await ack(sios[i]!, 'set_ticks', { enabled: msg.enabled });
      if (!res.ok) throw new Error(`set_ticks: ${JSON.stringify(res.error)}`);
    });
    return { failed: results.filter((r) => r.status === 'rejected').length };
  },

  /**
   * Room events at `perRoomPerS` per room (the scale scenario's broadcast traffic): each
   * room in turn has a member toggle its status (focusing ↔ paused), another member do the
   * same, a task added, and that task removed — members taking turns, the rooms' phases
   * spread over the interval. Until `events-stop`. Needs running countdowns.
   */
  async 'events-start'(msg: { perRoomPerS: number }) {
    eventsSent = 0;
    eventsFailed = 0;
    eventsErrors = {};
    const periodMs = 1000 / msg.perRoomPerS;
    const n = rooms.length;
    for (let r = 0; r < n; r++) {
      let step = 0;
      let taskId: string | null = null;
      const tick = async () => {
        const kind = step % 4;
        const member = r * 4 + ((step + Math.floor(step / 4)) % 4);
        step += 1;
        const s = sios[member]!;
        try {
          let res: any;
          if (kind <= 1) {
            // start_session made everyone focusing.
            const status = statuses[member] === 'paused' ? 'focusing' : 'paused';
            res = await ack(s, 'update_status', { status });
            if (res.ok) statuses[member] = status;
          } else if (kind === 2 || !taskId) {
            res = await ack(s, 'add_task', { title: `t${step}` });
            taskId = res.ok ? res.task.id : null;
          } else {
            res = await ack(s, 'remove_task', { task_id: taskId });
            taskId = null;
          }
          if (!res.ok) throw new Error(String(res.error?.message ?? JSON.stringify(res.error)));
          eventsSent += 1;
        } catch (err) {
          eventsFailed += 1;
          const m = String((err as Error).message);
          eventsErrors[m] = (eventsErrors[m] ?? 0) + 1;
        }
      };
      const start = setTimeout(() => {
        void tick();
        eventTimers.push(setInterval(() => void tick(), periodMs));
      }, (r / Math.max(1, n)) * periodMs);
      eventTimers.push(start);
    }
    return {};
  },

  async 'events-stop'() {
    for (const t of eventTimers) clearInterval(t);
    eventTimers.length = 0;
    return { sent: eventsSent, failed: eventsFailed, errors: eventsErrors };
  },

  async 'record-start'() {
    hist = new Hist();
    emitHist = new Hist();
    transitHist = new Hist();
    delivered = 0;
    skipped = 0;
    repeated = 0;
    recordSince = performance.now();
    recording = true;
    return {};
  },

  async 'record-stop'() {
    recording = false;
    return { delivered, skipped, repeated, ticksTotal, windowMs: performance.now() - recordSince, hist: hist.toJSON(), emit: emitHist.toJSON(), transit: transitHist.toJSON() };
  },

  /**
   * Open-loop room churn at `rate` rooms/s for `durationMs`: 4 free sockets make a room
   * (create, then 3 joins in parallel), then all leave and go back to the pool. Ack
   * latency is measured from each emit. A room that finds no 4 free sockets is `starved`.
   */
  async churn(msg: { rate: number; durationMs: number }) {
    const free = [...sios];
    const create = new Hist();
    const join = new Hist();
    const leave = new Hist();
    let launched = 0;
    let completed = 0;
    let starved = 0;
    let errors = 0;
    let firstError: string | null = null;
    const inflight = new Set<Promise<void>>();
    const timed = async (h: Hist, s: Socket, event: string, payload: unknown) => {
      const t = performance.now();
      const res = await ack(s, event, payload, 10_000);
      h.add(performance.now() - t);
      if (!res.ok) throw new Error(`${event}: ${JSON.stringify(res.error)}`);
      return res;
    };
    const flow = async (four: Socket[]) => {
      const [host, ...guests] = four as [Socket, ...Socket[]];
      try {
        const created = await timed(create, host, 'create_session', { user_name: 'h', max_participants: 4 });
        await Promise.all(guests.map((g, j) => timed(join, g, 'join_session', { room_code: created.room_code, user_name: `g${j}` })));
        await Promise.all(four.map((s) => timed(leave, s, 'leave_session', {})));
        completed += 1;
      } catch (err) {
        errors += 1;
        firstError ??= String((err as Error).message);
        // Leave whatever was joined, so the sockets can be reused.
        await Promise.allSettled(four.map((s) => ack(s, 'leave_session', {}, 10_000)));
      }
      free.push(...four);
    };
    const t0 = performance.now();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = performance.now() - t0;
        const due = Math.floor((Math.min(elapsed, msg.durationMs) / 1000) * msg.rate);
        while (launched < due) {
          launched += 1;
          if (free.length < 4) {
            starved += 1;
            continue;
          }
          const p = flow(free.splice(free.length - 4, 4));
          inflight.add(p);
          void p.finally(() => inflight.delete(p));
        }
        if (elapsed >= msg.durationMs) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    const wallMs = performance.now() - t0;
    await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => setTimeout(r, 15_000))]);
    return { launched, completed, starved, errors, firstError, wallMs, create: create.toJSON(), join: join.toJSON(), leave: leave.toJSON() };
  },

  async close() {
    for (const s of sios) s?.disconnect();
    for (const w of wss) w?.terminate();
    for (const r of cys) void r?.leave(true).catch(() => undefined);
    setTimeout(() => process.exit(0), 200);
    return {};
  },
};

process.on('message', (msg: any) => {
  const h = handlers[msg?.type];
  const run = h ? h(msg) : Promise.reject(new Error(`unknown request ${msg?.type}`));
  run.then(
    (result) => process.send?.({ id: msg.id, ok: true, result }),
    (err: unknown) => process.send?.({ id: msg.id, ok: false, error: String((err as Error)?.stack ?? err) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', pid: process.pid });
