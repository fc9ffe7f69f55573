/**
 * The focusroom client: one Socket.IO connection, promise methods typed from
 * src/contract, the room snapshot kept current (session-state.ts), the seat kept in a
 * pluggable storage and resumed after every reconnect, and a countdown from `ends_at`
 * and a measured clock offset (clock-sync.ts) instead of once-a-second ticks.
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type {
  ClientToServerEvents,
  CreateSessionPayload,
  MissedEvent,
  RecapOutcome,
  RoomEventName,
  RoomEvents,
  ServerToClientEvents,
  SessionJoinedPayload,
  SessionResumedPayload,
  SessionSnapshot,
  TimeUpdatePayload,
} from '../contract/events.js';
import { ROOM_EVENT_NAMES } from '../contract/event-facts.js';
import type { ClientStatus, UpdateSettingsInput, UpdateTaskInput } from '../contract/schemas.js';
import { type ClockSample, ClockSync } from './clock-sync.js';
import { type ClientErrorCode, FocusroomError } from './errors.js';
import { type PushSubscriptionJson, subscribePush, unsubscribePush, vapidPublicKey } from './push.js';
import { SessionState } from './session-state.js';
import { type Seat, SeatStore, type StorageOption, resolveStorage } from './seat-storage.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type C2S = ClientToServerEvents;
export type ClientEventName = keyof C2S;
/** The payload of a client event. */
export type PayloadOf<E extends ClientEventName> = Parameters<C2S[E]>[0];
/** The ack of a client event when it succeeded, without `ok`. */
export type ResultOf<E extends ClientEventName> = Omit<Extract<Parameters<NonNullable<Parameters<C2S[E]>[1]>>[0], { ok: true }>, 'ok'>;

/** `connecting` before the first connect, `reconnecting` while it is lost, `offline` when the seat was taken over elsewhere. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'closed';

export interface SeatLostEvent {
  /**
   * `taken_over`: the seat was resumed by another connection (another tab or device); this
   * client does not fight over it and stays offline until `reconnect()`. `expired`: the
   * server no longer knows the seat (grace over, room gone). `timeout` / `kicked`: the room
   * said so (participant_left). `closed`: room_closed.
   */
  reason: 'taken_over' | 'expired' | 'timeout' | 'kicked' | 'closed';
  room_code: string;
}

export interface ResumedEvent {
  session: SessionSnapshot;
  /** The room events this client missed, oldest first, already applied to `session`. */
  missed: MissedEvent[];
  /** False when the gap was longer than the room's log: `session` is the truth, `missed` is empty. */
  missed_complete: boolean;
}

/** Everything `on()` can listen to: every room event, ticks, and the client's own. */
export type ClientEvents = { [K in RoomEventName]: (payload: RoomEvents[K]) => void } & {
  time_update: (payload: TimeUpdatePayload) => void;
  /** After every reconnect that got the seat back: once per resume. */
  resumed: (event: ResumedEvent) => void;
  /** `session` changed (any event, ack or resume); null when the client left its room. */
  change: (session: SessionSnapshot | null) => void;
  connection: (state: ConnectionState) => void;
  seat_lost: (event: SeatLostEvent) => void;
  /** A clock sync round finished (on every connect). */
  clock: (sample: ClockSample) => void;
};
export type ClientEventKey = keyof ClientEvents;

export interface ConnectOptions {
  /** Where the seat is kept: `memory` (default), `localStorage`, `sessionStorage`, or any `{ get, set, delete }`. */
  storage?: StorageOption;
  /** The storage key (default `focusroom.seat`). */
  storageKey?: string;
  /** Receive `time_update` ticks (default false: the client counts down from `ends_at`). */
  ticks?: boolean;
  /** The local clock (default `Date.now`); tests inject a skewed one. */
  now?: () => number;
  /** How long a call waits for a connection and then for its ack (default 8,000 ms). */
  timeoutMs?: number;
  /** time_sync samples per connect (default 5). */
  clockSamples?: number;
  /** Handshake auth (e.g. `{ token }` when the server requires a JWT); a function is called on every connect, for fresh tokens. */
  auth?: Record<string, unknown> | (() => Record<string, unknown> | Promise<Record<string, unknown>>);
  /** Backoff after a refused connection (`connect_error`): first delay and cap (default 500 ms and 10 s, with jitter). */
  reconnectDelayMs?: number;
  reconnectDelayMaxMs?: number;
  /** Passed to socket.io-client (default `transports: ['websocket']`). */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

const SEAT_GONE: ReadonlySet<ClientErrorCode> = new Set<ClientErrorCode>(['invalid_token', 'not_found', 'not_in_session']);

type Listener = (...args: unknown[]) => void;
/** The ack-level emitter, untyped inside; the public methods carry the types. */
type AckEmitter = { emitWithAck(event: string, ...args: unknown[]): Promise<unknown> };

export class FocusroomClient {
  /** The underlying socket.io-client socket. */
  readonly socket: ClientSocket;
  private readonly state = new SessionState();
  private readonly clock: ClockSync;
  private readonly seats: SeatStore;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly waiters = new Set<() => void>();
  private readonly timeoutMs: number;
  private readonly ticks: boolean;
  private seat: Seat | null = null;
  private seated = false;
  private resuming = false;
  private closed = false;
  private connState: ConnectionState = 'connecting';
  /** The server closed this socket after saying the token expired: reconnect, with a fresh token. */
  private tokenExpired = false;
  private retryAttempt = 0;
  private resumeAttempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly loaded: Promise<void>;
  private loading = true;

  constructor(
    private readonly url: string,
    private readonly opts: ConnectOptions = {},
  ) {
    const now = opts.now ?? Date.now;
    this.clock = new ClockSync(now, opts.clockSamples ?? 5);
    this.seats = new SeatStore(resolveStorage(opts.storage), opts.storageKey);
    this.timeoutMs = opts.timeoutMs ?? 8_000;
    this.ticks = opts.ticks ?? false;
    this.socket = io(url, {
      transports: ['websocket'],
      ...opts.socketOptions,
      autoConnect: false,
      // Every (re)connect carries the seat, so the server can tell a returning client from a newcomer.
      auth: (cb: (data: object) => void) => {
        void this.handshakeAuth().then(cb, () => cb({}));
      },
    }) as ClientSocket;
    this.wire();
    this.loaded = this.seats.get().then((seat) => {
      this.seat = seat;
      this.loading = false;
      if (!this.closed) this.socket.connect();
      this.changed();
    });
  }

  // ---- state ----------------------------------------------------------------

  /** The current room snapshot (null outside a room). Read-only: the client owns it. */
  get session(): Readonly<SessionSnapshot> | null {
    return this.state.session;
  }

  /** This client's participant id in its room. */
  get participantId(): string | null {
    return this.state.me;
  }

  get connectionState(): ConnectionState {
    return this.connState;
  }

  /** server clock − local clock (ms), and the round trip it was measured with. */
  get clockOffset(): ClockSample {
    return { offset: this.clock.offset, rtt: this.clock.rtt };
  }

  /** Milliseconds left in the current phase: `ends_at − (now + offset)` while running. */
  timeLeft(): number {
    const s = this.state.session;
    if (!s || s.status === 'completed') return 0;
    if (s.status === 'active' && s.ends_at !== null) return Math.max(0, s.ends_at - this.clock.serverNow());
    return s.time_left_ms;
  }

  /** True while a stored seat is being read or waits for its resume (a page can show "rejoining…" instead of its lobby). */
  get seatPending(): boolean {
    return !this.closed && (this.loading || (this.seat !== null && !this.seated));
  }

  /** Resolves once connected and, with a stored seat, resumed (or told the seat is gone). */
  ready(): Promise<void> {
    return this.waitReady();
  }

  // ---- events -----------------------------------------------------------------

  on<E extends ClientEventKey>(event: E, fn: ClientEvents[E]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as Listener);
    return () => this.off(event, fn);
  }

  off<E extends ClientEventKey>(event: E, fn: ClientEvents[E]): void {
    this.listeners.get(event)?.delete(fn as Listener);
  }

  private emit(event: string, ...args: unknown[]): void {
    for (const fn of [...(this.listeners.get(event) ?? [])]) {
      try {
        fn(...args);
      } catch (err) {
        // A listener's bug must not break the client's bookkeeping; it still surfaces.
        setTimeout(() => {
          throw err;
        });
      }
    }
  }

  // ---- calls --------------------------------------------------------------------

  /** create_session; the caller becomes host and is seated. */
  async create(options: CreateSessionPayload): Promise<SessionJoinedPayload> {
    const res = await this.call('create_session', options, false);
    await this.takeSeat(res);
    return res;
  }

  /** join_session by code (case-insensitive, spaces ignored). */
  async join(room_code: string, user_name?: string, options: Omit<PayloadOf<'join_session'>, 'room_code' | 'user_name'> = {}): Promise<SessionJoinedPayload> {
    const payload = { ...options, room_code, ...(user_name === undefined ? {} : { user_name }) } as PayloadOf<'join_session'>;
    const res = await this.call('join_session', payload, false);
    await this.takeSeat(res);
    return res;
  }

  start(): Promise<SessionSnapshot> {
    return this.snapshotCall('start_session', {});
  }

  pause(): Promise<SessionSnapshot> {
    return this.snapshotCall('pause_session', {});
  }

  resumeTimer(): Promise<SessionSnapshot> {
    return this.snapshotCall('resume_timer', {});
  }

  updateSettings(changes: UpdateSettingsInput): Promise<SessionSnapshot> {
    return this.snapshotCall('update_settings', changes);
  }

  async setStatus(status: ClientStatus): Promise<ResultOf<'update_status'>> {
    const res = await this.call('update_status', { status }, true);
    if (this.state.me && this.state.patchParticipant(this.state.me, { status: res.status }, res.seq)) this.changed();
    return res;
  }

  async addTask(title: string): Promise<ResultOf<'add_task'>> {
    const res = await this.call('add_task', { title }, true);
    if (this.state.upsertTask(res.task, res.seq)) this.changed();
    return res;
  }

  async updateTask(task_id: string, changes: Omit<UpdateTaskInput, 'task_id'>): Promise<ResultOf<'update_task'>> {
    const res = await this.call('update_task', { ...changes, task_id }, true);
    if (this.state.upsertTask(res.task, res.seq)) this.changed();
    return res;
  }

  async removeTask(task_id: string): Promise<ResultOf<'remove_task'>> {
    const res = await this.call('remove_task', { task_id }, true);
    if (this.state.dropTask(res.task.id, res.seq)) this.changed();
    return res;
  }

  /** (ext) What you set out to do (1–140 characters); everyone sees it (`participant_intention`). */
  async setIntention(text: string): Promise<ResultOf<'set_intention'>> {
    const res = await this.call('set_intention', { text }, true);
    if (this.state.me && this.state.patchParticipant(this.state.me, { intention: res.intention }, res.seq)) this.changed();
    return res;
  }

  /** (ext) How completed focus round `round` went, within 10 minutes of its end (`participant_recap`). */
  async setRecap(round: number, outcome: RecapOutcome, note?: string): Promise<ResultOf<'set_recap'>> {
    const res = await this.call('set_recap', note === undefined ? { round, outcome } : { round, outcome, note }, true);
    if (this.state.me && this.state.patchParticipant(this.state.me, { recap: res.recap }, res.seq)) this.changed();
    return res;
  }

  /** Leaves the room at once (no grace) and forgets the seat. */
  async leave(): Promise<void> {
    try {
      await this.call('leave_session', {}, true);
    } catch (err) {
      if (!(err instanceof FocusroomError && SEAT_GONE.has(err.code))) {
        await this.forgetSeat();
        throw err;
      }
    }
    await this.forgetSeat();
  }

  // ---- Web Push (REST, docs/push.md) ---------------------------------------------

  /**
   * Subscribes this browser's PushSubscription (`subscription.toJSON()`) to the caller's
   * notices. `credential`: the /me Bearer (the JWT, or the user_key without auth); by
   * default the handshake auth's `token` or `user_key`.
   */
  async subscribePush(subscription: PushSubscriptionJson, credential?: string): Promise<{ id: string }> {
    return subscribePush(this.url, await this.credential(credential), subscription, this.timeoutMs);
  }

  async unsubscribePush(id: string, credential?: string): Promise<void> {
    await unsubscribePush(this.url, await this.credential(credential), id, this.timeoutMs);
  }

  /** The server's VAPID public key, or null when it has push off. */
  vapidPublicKey(): Promise<string | null> {
    return vapidPublicKey(this.url, this.timeoutMs);
  }

  private async credential(given: string | undefined): Promise<string> {
    if (given) return given;
    const auth = typeof this.opts.auth === 'function' ? await this.opts.auth() : (this.opts.auth ?? {});
    const found = auth.token ?? auth.user_key;
    if (typeof found !== 'string') throw new FocusroomError('unauthorized', 'pass the /me credential (the JWT, or the user_key without auth)');
    return found;
  }

  /** Closes the connection. The stored seat stays: another client with the same storage resumes it within the grace. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket.disconnect();
    this.setConnection('closed');
    this.notify();
  }

  /**
   * Connects again after the seat was taken over (`offline`): reads the seat from storage
   * and resumes it, taking it back from the other connection.
   */
  async reconnect(): Promise<void> {
    if (this.closed) throw new FocusroomError('closed', 'the client is closed');
    await this.loaded;
    this.seat = await this.seats.get();
    if (this.socket.connected) {
      if (this.seat && !this.seated) await this.resume();
      return;
    }
    this.setConnection('reconnecting');
    this.socket.connect();
    await this.waitReady();
  }

  private snapshotCall(event: 'start_session' | 'pause_session' | 'resume_timer' | 'update_settings', payload: object): Promise<SessionSnapshot> {
    return this.call(event, payload as never, true).then((res) => {
      const { session } = res as { session: SessionSnapshot };
      this.clock.observe(session.server_now);
      if (this.state.snapshot(session)) this.changed();
      return this.state.session ?? session;
    });
  }

  /** One request: waits for the connection (and a resume in progress), then for the ack. */
  private async call<E extends ClientEventName>(event: E, payload: PayloadOf<E>, needsSeat: boolean): Promise<ResultOf<E>> {
    await this.waitReady(needsSeat);
    const res = await this.send(event, payload);
    return res as ResultOf<E>;
  }

  /** Emits with an ack now; rejects with the wire code, or `timeout`. */
  private async send(event: string, payload: unknown, timeoutMs = this.timeoutMs): Promise<Record<string, unknown>> {
    let res: unknown;
    try {
      res = await (this.socket.timeout(timeoutMs) as unknown as AckEmitter).emitWithAck(event, payload);
    } catch {
      throw new FocusroomError('timeout', `no answer to ${event} within ${timeoutMs} ms`);
    }
    const r = res as { ok?: boolean; error?: { code: ClientErrorCode; message: string } } & Record<string, unknown>;
    if (r?.ok !== true) throw new FocusroomError(r?.error?.code ?? 'internal', r?.error?.message ?? 'unexpected reply');
    const { ok: _ok, ...result } = r;
    return result;
  }

  /** Connected, no resume pending; rejects with `disconnected` after the timeout, `closed` when closed. */
  private waitReady(needsSeat = true): Promise<void> {
    const isReady = () => this.socket.connected && !this.resuming && !(needsSeat && this.seat && !this.seated);
    if (this.closed) return Promise.reject(new FocusroomError('closed', 'the client is closed'));
    if (isReady()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.closed) finish(new FocusroomError('closed', 'the client is closed'));
        else if (isReady()) finish(null);
      };
      const timer = setTimeout(() => finish(new FocusroomError('disconnected', `not connected within ${this.timeoutMs} ms`)), this.timeoutMs);
      const finish = (err: FocusroomError | null) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const check of [...this.waiters]) check();
  }

  // ---- seat ---------------------------------------------------------------------

  private async handshakeAuth(): Promise<Record<string, unknown>> {
    const user = typeof this.opts.auth === 'function' ? await this.opts.auth() : (this.opts.auth ?? {});
    const seat = this.seat;
    return seat ? { ...user, room_code: seat.room_code, participant_id: seat.participant_id, resume_token: seat.resume_token } : { ...user };
  }

  private async takeSeat(res: SessionJoinedPayload): Promise<void> {
    this.seat = { room_code: res.room_code, participant_id: res.participant_id, resume_token: res.resume_token, last_seq: res.session.seq };
    this.seated = true;
    this.clock.observe(res.session.server_now);
    this.state.seat(res.participant_id, res.session);
    this.changed();
    await this.seats.set(this.seat).catch(() => undefined);
    this.notify();
  }

  private async forgetSeat(): Promise<void> {
    this.seat = null;
    this.seated = false;
    this.state.clear();
    this.changed();
    await this.seats.delete().catch(() => undefined);
    this.notify();
  }

  /** Keeps the stored `last_seq` at the highest seq seen, so a resume asks only for what it missed. */
  private saveSeq(): void {
    const seat = this.seat;
    if (!seat || this.state.lastSeq <= seat.last_seq) return;
    seat.last_seq = this.state.lastSeq;
    void Promise.resolve(this.seats.set(seat)).catch(() => undefined);
  }

  private async seatLost(reason: SeatLostEvent['reason'], forget: boolean): Promise<void> {
    const room_code = this.seat?.room_code ?? this.state.session?.room_code ?? '';
    if (forget) await this.forgetSeat();
    else {
      this.seat = null;
      this.seated = false;
      this.state.clear();
      this.changed();
      this.notify();
    }
    this.emit('seat_lost', { reason, room_code });
  }

  /** resume_session with last_seq; retried while connected when the server is only busy. */
  private async resume(): Promise<void> {
    const seat = this.seat;
    if (!seat || this.resuming) return;
    this.resuming = true;
    const attempt = ++this.resumeAttempt;
    const socketId = this.socket.id;
    const current = () => attempt === this.resumeAttempt && this.seat === seat && this.socket.id === socketId;
    try {
      const res = (await this.send('resume_session', {
        room_code: seat.room_code,
        participant_id: seat.participant_id,
        resume_token: seat.resume_token,
        last_seq: Math.max(seat.last_seq, this.state.lastSeq),
      })) as unknown as SessionResumedPayload;
      if (!current()) return; // left, or a newer connection resumes
      // The missed events in order over what we held, then the reply's snapshot as the truth.
      if (res.missed_complete) for (const e of res.missed) this.state.apply(e.event, e.data as never);
      this.clock.observe(res.session.server_now);
      this.state.seat(res.participant_id, res.session);
      this.seated = true;
      this.resuming = false;
      this.retryAttempt = 0;
      this.saveSeq();
      this.changed();
      this.emit('resumed', { session: this.state.session!, missed: res.missed_complete ? res.missed : [], missed_complete: res.missed_complete });
    } catch (err) {
      if (!current()) return;
      this.resuming = false;
      const code = err instanceof FocusroomError ? err.code : 'internal';
      if (SEAT_GONE.has(code)) {
        await this.seatLost('expired', true);
        return;
      }
      // rate_limited, unavailable, internal, timeout: try again while this connection lasts.
      if (this.socket.connected) {
        this.resuming = true; // calls keep waiting for the seat
        setTimeout(() => {
          if (!current()) return;
          this.resuming = false;
          void this.resumeIfNeeded(socketId);
        }, this.backoff());
      }
    } finally {
      this.notify();
    }
  }

  private resumeIfNeeded(socketId: string | undefined): Promise<void> {
    if (this.closed || !this.socket.connected || this.socket.id !== socketId || this.seated || !this.seat) return Promise.resolve();
    return this.resume();
  }

  private backoff(): number {
    const base = this.opts.reconnectDelayMs ?? 500;
    const max = this.opts.reconnectDelayMaxMs ?? 10_000;
    const delay = Math.min(max, base * 2 ** Math.min(this.retryAttempt++, 16));
    return delay * (0.5 + Math.random());
  }

  private changed(): void {
    this.emit('change', this.state.session);
  }

  private setConnection(state: ConnectionState): void {
    if (this.connState === state) return;
    this.connState = state;
    this.emit('connection', state);
  }

  // ---- socket wiring --------------------------------------------------------------

  private wire(): void {
    const socket = this.socket as unknown as Socket;
    socket.on('connect', () => {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.retryAttempt = 0;
      this.tokenExpired = false;
      // Before anything else: the server processes one socket's events in order, so the
      // resume below already lands in quiet mode.
      if (!this.ticks) socket.emit('set_ticks', { enabled: false });
      if (this.seat) void this.resume();
      this.setConnection('connected');
      this.notify();
      void this.clock
        .sync((t0) => this.send('time_sync', { t0 }) as unknown as Promise<{ t0: number; server_now: number }>)
        .then((sample) => sample && this.emit('clock', sample));
    });

    socket.on('disconnect', (reason: string) => {
      this.seated = false;
      this.resuming = false;
      if (this.closed) return;
      if (reason === 'io server disconnect') {
        // The server closed this socket on purpose: the seat was resumed by another connection
        // (not to be fought over), or the token expired (come back with a fresh one).
        if (this.tokenExpired || !this.seat) {
          this.setConnection('reconnecting');
          this.retryTimer = setTimeout(() => this.socket.connect(), this.backoff());
          return;
        }
        this.setConnection('offline');
        void this.seatLost('taken_over', false);
        return;
      }
      this.setConnection('reconnecting'); // socket.io-client reconnects by itself, with backoff
      this.notify();
    });

    socket.on('connect_error', () => {
      if (this.closed) return;
      this.setConnection(this.connState === 'connecting' ? 'connecting' : 'reconnecting');
      // A refusal by the server's middleware (rate_limited, unauthorized, unavailable) is not
      // retried by socket.io-client; transport errors are (socket.active stays true).
      if (!socket.active && !this.retryTimer) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          if (!this.closed) this.socket.connect();
        }, this.backoff());
      }
    });

    socket.on('error', (payload: { code?: string }) => {
      if (payload?.code === 'unauthorized') this.tokenExpired = true;
    });

    socket.on('time_update', (tick: TimeUpdatePayload) => {
      this.clock.observe(tick.server_now);
      this.state.tick(tick);
      this.emit('time_update', tick);
    });

    // The room events, from the contract's table of event facts.
    for (const name of ROOM_EVENT_NAMES) socket.on(name, (data: RoomEvents[RoomEventName]) => this.onRoomEvent(name, data));
  }

  private onRoomEvent(event: RoomEventName, data: RoomEvents[RoomEventName]): void {
    if (!data || typeof data !== 'object') return;
    const me = this.state.me;
    if (event === 'participant_left' && me && (data as RoomEvents['participant_left']).participant_id === me) {
      const reason = (data as RoomEvents['participant_left']).reason;
      this.emit(event, data as never);
      void this.seatLost(reason === 'kicked' ? 'kicked' : 'timeout', true);
      return;
    }
    if (event === 'room_closed') {
      this.emit(event, data as never);
      void this.seatLost('closed', true);
      return;
    }
    const changed = this.state.apply(event, data as never);
    const session = (data as { session?: SessionSnapshot }).session;
    if (session) this.clock.observe(session.server_now);
    this.saveSeq();
    this.emit(event, data);
    if (changed) this.changed();
  }
}

/** Connects to a focusroom server (`url` as for socket.io-client, e.g. `https://focus.example.com`). */
export function connect(url: string, opts: ConnectOptions = {}): FocusroomClient {
  return new FocusroomClient(url, opts);
}
