/**
 * The focusroom client: the front of the SDK and its connection state machine. One
 * Socket.IO connection, promise methods typed from src/contract, and around it:
 *
 *   session-state.ts  the room snapshot kept current from acks, events and resumes
 *   seat-keeper.ts    the seat, kept in a pluggable storage and resumed after every reconnect
 *   clock-sync.ts     a measured clock offset, so the countdown runs from `ends_at`
 *                     instead of once-a-second ticks
 *   typed-emitter.ts  `on()`/`off()` listeners, typed by client-events.ts
 *   backoff.ts        the delays between refused connects and busy resumes
 */
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type {
  ClientToServerEvents,
  CreateSessionPayload,
  RecapOutcome,
  RoomEventName,
  RoomEvents,
  ServerToClientEvents,
  SessionJoinedPayload,
  SessionSnapshot,
  TimeUpdatePayload,
} from '../contract/events.js';
import { ROOM_EVENT_NAMES } from '../contract/event-facts.js';
import type { ClientStatus, UpdateSettingsInput, UpdateTaskInput } from '../contract/schemas.js';
import { Backoff } from './backoff.js';
import type { ClientEventKey, ClientEvents, ConnectionState } from './client-events.js';
import { type ClockSample, ClockSync } from './clock-sync.js';
import { type ClientErrorCode, FocusroomError } from './errors.js';
import { type PushSubscriptionJson, subscribePush, unsubscribePush, vapidPublicKey } from './push.js';
import { SEAT_GONE, SeatKeeper } from './seat-keeper.js';
import { SessionState } from './session-state.js';
import { SeatStore, type StorageOption, resolveStorage } from './seat-storage.js';
import { TypedEmitter } from './typed-emitter.js';

export type { ClientEventKey, ClientEvents, ConnectionState, ResumedEvent, SeatLostEvent } from './client-events.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type C2S = ClientToServerEvents;
export type ClientEventName = keyof C2S;
/** The payload of a client event. */
export type PayloadOf<E extends ClientEventName> = Parameters<C2S[E]>[0];
/** The ack of a client event when it succeeded, without `ok`. */
export type ResultOf<E extends ClientEventName> = Omit<Extract<Parameters<NonNullable<Parameters<C2S[E]>[1]>>[0], { ok: true }>, 'ok'>;

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

/** The ack-level emitter, untyped inside; the public methods carry the types. */
type AckEmitter = { emitWithAck(event: string, ...args: unknown[]): Promise<unknown> };

export class FocusroomClient {
  /** The underlying socket.io-client socket. */
  readonly socket: ClientSocket;
  private readonly state = new SessionState();
  private readonly clock: ClockSync;
  private readonly events = new TypedEmitter<ClientEvents>();
  private readonly backoff: Backoff;
  private readonly seats: SeatKeeper;
  private readonly waiters = new Set<() => void>();
  private readonly timeoutMs: number;
  private readonly ticks: boolean;
  private closed = false;
  private connState: ConnectionState = 'connecting';
  /** The server closed this socket after saying the token expired: reconnect, with a fresh token. */
  private tokenExpired = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly loaded: Promise<void>;

  constructor(
    private readonly url: string,
    private readonly opts: ConnectOptions = {},
  ) {
    const now = opts.now ?? Date.now;
    this.clock = new ClockSync(now, opts.clockSamples ?? 5);
    this.backoff = new Backoff(opts.reconnectDelayMs ?? 500, opts.reconnectDelayMaxMs ?? 10_000);
    this.seats = new SeatKeeper(new SeatStore(resolveStorage(opts.storage), opts.storageKey), this.state, this.clock, this.backoff, this.events, {
      send: (event, payload) => this.send(event, payload),
      socketId: () => this.socket.id,
      connected: () => this.socket.connected,
      closed: () => this.closed,
      changed: () => this.changed(),
      notify: () => this.notify(),
    });
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
    this.loaded = this.seats.loaded.then(() => {
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
    return !this.closed && this.seats.pending;
  }

  /** Resolves once connected and, with a stored seat, resumed (or told the seat is gone). */
  ready(): Promise<void> {
    return this.waitReady();
  }

  // ---- events -----------------------------------------------------------------

  /** Adds a listener (a listener's error does not break the client's bookkeeping; it is rethrown on a fresh task). Returns the function that removes it. */
  on<E extends ClientEventKey>(event: E, fn: ClientEvents[E]): () => void {
    return this.events.on(event, fn);
  }

  off<E extends ClientEventKey>(event: E, fn: ClientEvents[E]): void {
    this.events.off(event, fn);
  }

  // ---- calls --------------------------------------------------------------------

  /** create_session; the caller becomes host and is seated. */
  async create(options: CreateSessionPayload): Promise<SessionJoinedPayload> {
    const res = await this.call('create_session', options, false);
    await this.seats.take(res);
    return res;
  }

  /** join_session by code (case-insensitive, spaces ignored). */
  async join(room_code: string, user_name?: string, options: Omit<PayloadOf<'join_session'>, 'room_code' | 'user_name'> = {}): Promise<SessionJoinedPayload> {
    const payload = { ...options, room_code, ...(user_name === undefined ? {} : { user_name }) } as PayloadOf<'join_session'>;
    const res = await this.call('join_session', payload, false);
    await this.seats.take(res);
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
        await this.seats.forget();
        throw err;
      }
    }
    await this.seats.forget();
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
    await this.seats.reload();
    if (this.socket.connected) {
      await this.seats.resumeIfNeeded();
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
    const isReady = () => this.socket.connected && !this.seats.blocks(needsSeat);
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

  private async handshakeAuth(): Promise<Record<string, unknown>> {
    const user = typeof this.opts.auth === 'function' ? await this.opts.auth() : (this.opts.auth ?? {});
    return { ...user, ...this.seats.handshake() };
  }

  private changed(): void {
    this.events.emit('change', this.state.session);
  }

  private setConnection(state: ConnectionState): void {
    if (this.connState === state) return;
    this.connState = state;
    this.events.emit('connection', state);
  }

  // ---- socket wiring --------------------------------------------------------------

  private wire(): void {
    const socket = this.socket as unknown as Socket;
    socket.on('connect', () => {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.backoff.reset();
      this.tokenExpired = false;
      // Before anything else: the server processes one socket's events in order, so the
      // resume below already lands in quiet mode.
      if (!this.ticks) socket.emit('set_ticks', { enabled: false });
      if (this.seats.current) void this.seats.resume();
      this.setConnection('connected');
      this.notify();
      void this.clock
        .sync((t0) => this.send('time_sync', { t0 }) as unknown as Promise<{ t0: number; server_now: number }>)
        .then((sample) => sample && this.events.emit('clock', sample));
    });

    socket.on('disconnect', (reason: string) => {
      this.seats.dropped();
      if (this.closed) return;
      if (reason === 'io server disconnect') {
        // The server closed this socket on purpose: the seat was resumed by another connection
        // (not to be fought over), or the token expired (come back with a fresh one).
        if (this.tokenExpired || !this.seats.current) {
          this.setConnection('reconnecting');
          this.retryTimer = setTimeout(() => this.socket.connect(), this.backoff.next());
          return;
        }
        this.setConnection('offline');
        void this.seats.lost('taken_over', false);
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
        }, this.backoff.next());
      }
    });

    socket.on('error', (payload: { code?: string }) => {
      if (payload?.code === 'unauthorized') this.tokenExpired = true;
    });

    socket.on('time_update', (tick: TimeUpdatePayload) => {
      this.clock.observe(tick.server_now);
      this.state.tick(tick);
      this.events.emit('time_update', tick);
    });

    // The room events, from the contract's table of event facts.
    for (const name of ROOM_EVENT_NAMES) socket.on(name, (data: RoomEvents[RoomEventName]) => this.onRoomEvent(name, data));
  }

  private onRoomEvent(event: RoomEventName, data: RoomEvents[RoomEventName]): void {
    if (!data || typeof data !== 'object') return;
    const me = this.state.me;
    if (event === 'participant_left' && me && (data as RoomEvents['participant_left']).participant_id === me) {
      const reason = (data as RoomEvents['participant_left']).reason;
      this.events.emit(event, data as never);
      void this.seats.lost(reason === 'kicked' ? 'kicked' : 'timeout', true);
      return;
    }
    if (event === 'room_closed') {
      this.events.emit(event, data as never);
      void this.seats.lost('closed', true);
      return;
    }
    const changed = this.state.apply(event, data as never);
    const session = (data as { session?: SessionSnapshot }).session;
    if (session) this.clock.observe(session.server_now);
    this.seats.saveSeq();
    this.events.emit(event, data as never);
    if (changed) this.changed();
  }
}

/** Connects to a focusroom server (`url` as for socket.io-client, e.g. `https://focus.example.com`). */
export function connect(url: string, opts: ConnectOptions = {}): FocusroomClient {
  return new FocusroomClient(url, opts);
}
