/**
 * A reconnect storm behind one address, as a reusable part: many socket.io-clients from one
 * address hold seats; something kills the instance they are on (the caller's `kill`);
 * they all come back at once, the way public/app.js does (docs/reliability.md, "Reconnect
 * storms"):
 *
 * - the handshake `auth` carries the seat `{ room_code, participant_id, resume_token }`
 *   (a callback, read again at every attempt), so the server verifies it there and does
 *   not charge the address's connection budget;
 * - after ANY `connect_error` — `rate_limited` included — and after a server-side
 *   disconnect, it tries again with capped exponential backoff and full jitter (transport
 *   failures are retried by socket.io-client's own reconnection, same bounds);
 * - once connected it sends `resume_session` with its seat and `last_seq`.
 *
 * Optionally, `attackers` sockets at the same address send resumes with wrong tokens for
 * the same rooms while the storm runs (they must not lock the real seats out).
 *
 * Used by test/cluster/reconnect-storm.test.ts (asserts on the numbers) and meant for the
 * bench's `--only abuse` scenario (reports them). Imports socket.io-client only.
 */
import { io, type Socket } from 'socket.io-client';

export interface StormSeat {
  room_code: string;
  participant_id: string;
  resume_token: string;
}

export interface StormOptions {
  /** Where clients first connect (the instance that will die), and where they come back (a load balancer, or the survivor). */
  firstUrl: string;
  backUrl: string;
  /** Seated clients, in rooms of `roomSize` (the first of each room creates it). */
  clients: number;
  roomSize?: number;
  /**
   * Kills the first instance (SIGKILL); resolves when it is gone. Omitted: every client's
   * transport is cut at once instead (one server stands in for "their instance died and
   * they all come back"), and they reconnect to backUrl by themselves.
   */
  kill?: () => Promise<void>;
  /** Give up waiting for the storm to settle after this long (ms). */
  settleTimeoutMs?: number;
  /** Sockets sending wrong-token resumes for the storm's rooms, from the same address, while it runs. */
  attackers?: number;
  /** Wrong resumes per attacker, one every `attackIntervalMs` (under the per-socket event limit, so every answer is about the token). */
  attacksEach?: number;
  attackIntervalMs?: number;
  /** Backoff bounds of the retry after a refused handshake (ms). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Connects at most this many at once while seating (the setup, not the storm). */
  setupConcurrency?: number;
}

export interface StormResult {
  clients: number;
  /** Seats resumed after the kill (same participant_id, `resumed: true`). */
  resumed: number;
  /** Seats whose resume was answered with an error (by code), or that never resumed. */
  failed: Record<string, number>;
  notResumed: number;
  /** ms from the kill to each seat's resume ack: p50, p95, max. */
  resumeMs: { p50: number; p95: number; max: number };
  /** Handshakes refused during the storm, by message (each one retried). */
  connectErrors: Record<string, number>;
  /** Wrong-token resumes sent by the attackers, and how they were answered (by code). */
  attacks: Record<string, number>;
}

const DEFAULTS = { roomSize: 4, settleTimeoutMs: 30_000, attackers: 0, attacksEach: 25, attackIntervalMs: 100, retryBaseMs: 250, retryMaxMs: 5_000, setupConcurrency: 20 };

type Ack = { ok: boolean; error?: { code: string }; [k: string]: unknown };

function emitAck(socket: Socket, event: string, payload: unknown, timeoutMs = 8_000): Promise<Ack> {
  return socket
    .timeout(timeoutMs)
    .emitWithAck(event, payload)
    .catch(() => ({ ok: false, error: { code: 'timeout' } }));
}

const quantile = (sorted: number[], q: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);

/** A client that holds a seat and comes back by itself, like public/app.js. */
class StormClient {
  seat: StormSeat | null = null;
  lastSeq = 0;
  socket: Socket;
  resumedAt: number | null = null;
  resumeError: string | null = null;
  private attempt = 0;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    url: string,
    private readonly o: typeof DEFAULTS,
    private readonly onConnectError: (message: string) => void,
    private readonly stormStarted: () => number | null,
  ) {
    this.socket = io(url, {
      transports: ['websocket'],
      forceNew: true,
      autoConnect: false,
      reconnectionDelay: o.retryBaseMs,
      reconnectionDelayMax: o.retryMaxMs,
      randomizationFactor: 0.5,
      timeout: 10_000,
      // Read at every attempt: the seat rides in the handshake.
      auth: (cb) => cb(this.seat ? { ...this.seat } : {}),
    });
    this.socket.on('connect', () => {
      this.attempt = 0;
      if (this.seat && this.stormStarted() !== null) void this.resume();
    });
    this.socket.on('connect_error', (err) => {
      this.onConnectError(err.message);
      // A refusal by the server (middleware) is not retried by socket.io-client: do it here.
      if (!this.socket.active) this.later();
    });
    this.socket.on('disconnect', (reason) => {
      if (reason === 'io server disconnect') this.later();
    });
    const noteSeq = (p: { seq?: number; session?: { seq?: number } }) => {
      const seq = p?.seq ?? p?.session?.seq;
      if (typeof seq === 'number' && seq > this.lastSeq) this.lastSeq = seq;
    };
    for (const ev of ['participant_joined', 'participant_left', 'participant_connection', 'session_started', 'task_added']) this.socket.on(ev, noteSeq);
  }

  /** Capped exponential backoff with full jitter: a crowd spreads out instead of retrying in step. */
  private later(): void {
    if (this.retry) return;
    const cap = Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** this.attempt++);
    this.retry = setTimeout(() => {
      this.retry = null;
      this.socket.connect();
    }, Math.random() * cap);
  }

  /** The first connect (setup): transport refusals (a bare-session cap) are retried by socket.io-client; a server refusal fails. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => {
        if (this.socket.active) return; // socket.io-client tries again by itself
        this.socket.off('connect', ok);
        this.socket.off('connect_error', fail);
        reject(err);
      };
      const ok = () => {
        this.socket.off('connect_error', fail);
        resolve();
      };
      this.socket.once('connect', ok);
      this.socket.on('connect_error', fail);
      this.socket.connect();
    });
  }

  private async resume(): Promise<void> {
    const seat = this.seat!;
    const res = await emitAck(this.socket, 'resume_session', { ...seat, last_seq: this.lastSeq });
    if (res.ok && res.participant_id === seat.participant_id) {
      this.resumedAt ??= Date.now();
      this.resumeError = null;
    } else if (this.resumedAt === null) {
      this.resumeError = res.error?.code ?? 'unknown';
      // rate_limited / unavailable / timeout are worth another try on the same connection.
      if (['rate_limited', 'unavailable', 'timeout', 'internal'].includes(this.resumeError)) setTimeout(() => void this.resume(), Math.random() * this.o.retryMaxMs);
    }
  }

  close(): void {
    if (this.retry) clearTimeout(this.retry);
    this.socket.disconnect();
  }
}

async function inBatches<T>(items: T[], size: number, fn: (t: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

export async function runReconnectStorm(options: StormOptions): Promise<StormResult> {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as typeof DEFAULTS & StormOptions;
  const connectErrors: Record<string, number> = {};
  let killedAt: number | null = null;
  const clients = Array.from(
    { length: o.clients },
    () =>
      new StormClient(
        o.firstUrl,
        o,
        (m) => {
          if (killedAt !== null) connectErrors[m] = (connectErrors[m] ?? 0) + 1;
        },
        () => killedAt,
      ),
  );
  const attackers: Socket[] = [];
  try {
    // Seat everyone on the first instance: rooms of roomSize.
    await inBatches(clients, o.setupConcurrency, (c) => c.connect());
    const rooms: StormClient[][] = [];
    for (let i = 0; i < clients.length; i += o.roomSize) rooms.push(clients.slice(i, i + o.roomSize));
    await inBatches(rooms, Math.max(1, Math.floor(o.setupConcurrency / o.roomSize)), async (room) => {
      const [host, ...guests] = room;
      const created = await emitAck(host!.socket, 'create_session', { user_name: 'storm host', session_duration: 3_600_000 });
      if (!created.ok) throw new Error(`storm setup: create failed: ${JSON.stringify(created)}`);
      const code = created.room_code as string;
      host!.seat = { room_code: code, participant_id: created.participant_id as string, resume_token: created.resume_token as string };
      for (const g of guests) {
        const joined = await emitAck(g.socket, 'join_session', { room_code: code, user_name: 'storm guest' });
        if (!joined.ok) throw new Error(`storm setup: join failed: ${JSON.stringify(joined)}`);
        g.seat = { room_code: code, participant_id: joined.participant_id as string, resume_token: joined.resume_token as string };
      }
    });
    // From now on reconnects go to backUrl (a load balancer would do this by itself).
    for (const c of clients) (c.socket.io as unknown as { uri: string }).uri = o.backUrl;

    if (o.kill) await o.kill();
    else for (const c of clients) (c.socket.io as unknown as { engine: { close(): void } }).engine.close();
    killedAt = Date.now();

    // Meanwhile, someone at the same address tries wrong tokens for the same rooms.
    const attacks: Record<string, number> = {};
    const attacking = Array.from({ length: o.attackers }, async (_, i) => {
      const s = io(o.backUrl, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 10_000 });
      attackers.push(s);
      const up = await new Promise<boolean>((resolve) => {
        s.once('connect', () => resolve(true));
        s.once('connect_error', () => resolve(false));
      });
      if (!up) {
        attacks.connect_refused = (attacks.connect_refused ?? 0) + 1;
        return;
      }
      for (let k = 0; k < o.attacksEach; k++) {
        const victim = clients[(i * o.attacksEach + k) % clients.length]!.seat!;
        const res = await emitAck(s, 'resume_session', { ...victim, resume_token: 'x'.repeat(32) });
        const code = res.ok ? 'ok' : (res.error?.code ?? 'unknown');
        attacks[code] = (attacks[code] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, o.attackIntervalMs));
      }
    });

    const deadline = killedAt + o.settleTimeoutMs;
    while (Date.now() < deadline && clients.some((c) => c.resumedAt === null)) await new Promise((r) => setTimeout(r, 50));
    await Promise.all(attacking);

    const times = clients
      .filter((c) => c.resumedAt !== null)
      .map((c) => c.resumedAt! - killedAt!)
      .sort((a, b) => a - b);
    const failed: Record<string, number> = {};
    for (const c of clients) if (c.resumedAt === null) failed[c.resumeError ?? 'never_connected'] = (failed[c.resumeError ?? 'never_connected'] ?? 0) + 1;
    return {
      clients: o.clients,
      resumed: times.length,
      failed,
      notResumed: o.clients - times.length,
      resumeMs: { p50: quantile(times, 0.5), p95: quantile(times, 0.95), max: times.at(-1) ?? NaN },
      connectErrors,
      attacks,
    };
  } finally {
    for (const c of clients) c.close();
    for (const s of attackers) s.disconnect();
  }
}
