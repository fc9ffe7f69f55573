/**
 * The seat's lifecycle: read from storage at start, taken on create/join, kept current
 * (`last_seq`), resumed after every reconnect (with the events missed applied in order,
 * retried with backoff while the server is only busy), given up when the server says it
 * is gone, and forgotten on leave. The socket, the calls and the connection states stay
 * with FocusroomClient; the keeper reaches them through `SeatHost`.
 */
import type { SessionJoinedPayload, SessionResumedPayload } from '../contract/events.js';
import type { Backoff } from './backoff.js';
import type { ClientEvents, SeatLostEvent } from './client-events.js';
import type { ClockSync } from './clock-sync.js';
import { type ClientErrorCode, FocusroomError } from './errors.js';
import type { Seat, SeatStore } from './seat-storage.js';
import type { SessionState } from './session-state.js';
import type { TypedEmitter } from './typed-emitter.js';

/** Answers meaning the seat no longer exists on the server. */
export const SEAT_GONE: ReadonlySet<ClientErrorCode> = new Set<ClientErrorCode>(['invalid_token', 'not_found', 'not_in_session']);

/** What the keeper needs of the client around it. */
export interface SeatHost {
  /** One request with an ack; rejects with a FocusroomError. */
  send(event: 'resume_session', payload: unknown): Promise<Record<string, unknown>>;
  /** The current socket's id (a resume belongs to the connection it was sent on) and whether it is up. */
  socketId(): string | undefined;
  connected(): boolean;
  closed(): boolean;
  /** The session snapshot changed. */
  changed(): void;
  /** The seat's state changed: wake the calls waiting for it. */
  notify(): void;
}

export class SeatKeeper {
  private seat: Seat | null = null;
  private seated = false;
  private resuming = false;
  private resumeAttempt = 0;
  private loading = true;
  /** Resolves once the stored seat (if any) was read. */
  readonly loaded: Promise<void>;

  constructor(
    private readonly store: SeatStore,
    private readonly state: SessionState,
    private readonly clock: ClockSync,
    private readonly backoff: Backoff,
    private readonly events: TypedEmitter<ClientEvents>,
    private readonly host: SeatHost,
  ) {
    this.loaded = this.store.get().then((seat) => {
      this.seat = seat;
      this.loading = false;
    });
  }

  /** The seat held (stored or taken), seated or not. */
  get current(): Seat | null {
    return this.seat;
  }

  /** A stored seat is being read, or waits for its resume. */
  get pending(): boolean {
    return this.loading || (this.seat !== null && !this.seated);
  }

  /** A call must wait: a resume is in flight, or (for a call that needs the seat) a held seat is not seated yet. */
  blocks(needsSeat: boolean): boolean {
    return this.resuming || (needsSeat && this.seat !== null && !this.seated);
  }

  /** The handshake's seat fields: every (re)connect carries the seat, so the server can tell a returning client from a newcomer. */
  handshake(): Record<string, unknown> {
    const seat = this.seat;
    return seat ? { room_code: seat.room_code, participant_id: seat.participant_id, resume_token: seat.resume_token } : {};
  }

  /** Reads the seat from storage again (`reconnect()` after a takeover). */
  async reload(): Promise<void> {
    await this.loaded;
    this.seat = await this.store.get();
  }

  /** The connection dropped: the seat is no longer seated on it. */
  dropped(): void {
    this.seated = false;
    this.resuming = false;
  }

  /** create/join answered: this is the seat now. */
  async take(res: SessionJoinedPayload): Promise<void> {
    this.seat = { room_code: res.room_code, participant_id: res.participant_id, resume_token: res.resume_token, last_seq: res.session.seq };
    this.seated = true;
    this.clock.observe(res.session.server_now);
    this.state.seat(res.participant_id, res.session);
    this.host.changed();
    await this.store.set(this.seat).catch(() => undefined);
    this.host.notify();
  }

  /** Left (or gone): no seat, no room, nothing stored. */
  async forget(): Promise<void> {
    this.seat = null;
    this.seated = false;
    this.state.clear();
    this.host.changed();
    await this.store.delete().catch(() => undefined);
    this.host.notify();
  }

  /** Keeps the stored `last_seq` at the highest seq seen, so a resume asks only for what it missed. */
  saveSeq(): void {
    const seat = this.seat;
    if (!seat || this.state.lastSeq <= seat.last_seq) return;
    seat.last_seq = this.state.lastSeq;
    void Promise.resolve(this.store.set(seat)).catch(() => undefined);
  }

  /** The seat is lost (`reason`); `forget` also drops it from storage (a takeover keeps it there for `reconnect()`). */
  async lost(reason: SeatLostEvent['reason'], forget: boolean): Promise<void> {
    const room_code = this.seat?.room_code ?? this.state.session?.room_code ?? '';
    if (forget) await this.forget();
    else {
      this.seat = null;
      this.seated = false;
      this.state.clear();
      this.host.changed();
      this.host.notify();
    }
    this.events.emit('seat_lost', { reason, room_code });
  }

  /** Resumes the held seat on the current connection unless it is seated already. */
  resumeIfNeeded(socketId: string | undefined = this.host.socketId()): Promise<void> {
    if (this.host.closed() || !this.host.connected() || this.host.socketId() !== socketId || this.seated || !this.seat) return Promise.resolve();
    return this.resume();
  }

  /** resume_session with last_seq; retried while connected when the server is only busy. */
  async resume(): Promise<void> {
    const seat = this.seat;
    if (!seat || this.resuming) return;
    this.resuming = true;
    const attempt = ++this.resumeAttempt;
    const socketId = this.host.socketId();
    const current = () => attempt === this.resumeAttempt && this.seat === seat && this.host.socketId() === socketId;
    try {
      const res = (await this.host.send('resume_session', {
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
      this.backoff.reset();
      this.saveSeq();
      this.host.changed();
      this.events.emit('resumed', { session: this.state.session!, missed: res.missed_complete ? res.missed : [], missed_complete: res.missed_complete });
    } catch (err) {
      if (!current()) return;
      this.resuming = false;
      const code = err instanceof FocusroomError ? err.code : 'internal';
      if (SEAT_GONE.has(code)) {
        await this.lost('expired', true);
        return;
      }
      // rate_limited, unavailable, internal, timeout: try again while this connection lasts.
      if (this.host.connected()) {
        this.resuming = true; // calls keep waiting for the seat
        setTimeout(() => {
          if (!current()) return;
          this.resuming = false;
          void this.resumeIfNeeded(socketId);
        }, this.backoff.next());
      }
    } finally {
      this.host.notify();
    }
  }
}
