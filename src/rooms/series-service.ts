/**
 * Recurring series over the rooms: creating a series books its owner into
 * every occurrence inside the horizon and creates those occurrences as scheduled rooms;
 * members are booked into every occurrence at once (conflicts checked over all of them in
 * one atomic step); a sweep on every instance creates occurrences as the horizon moves,
 * each exactly once (its code is claimed by compare-and-set in the series); cancelling
 * closes rooms with `room_closed { reason: "cancelled" }`.
 */
import type { FastifyBaseLogger } from 'fastify';
import { AppError, RoomNotFoundError } from '../contract/errors.js';
import type { Clock } from '../domain/clock.js';
import { cancelRoom, createRoom, heldSeat, join, leave, type NewParticipant } from '../domain/membership.js';
import type { Room } from '../domain/room-state.js';
import { plannedLength, type Window } from '../domain/schedule.js';
import { cancelOccurrence, endSeries, liveOccurrences, missingOccurrences, occurrencesInHorizon, requireOwner, type Series, type SeriesMember } from '../domain/series.js';
import { hashToken, newParticipantId, newResumeToken } from '../domain/tokens.js';
import { type Bookings, SlotTaken } from './bookings.js';
import type { SeriesStore } from '../store/series-store.js';
import type { RoomService } from './room-service.js';
import type { RoomsContext } from './room-entry.js';

export interface SeriesServiceDeps {
  store: SeriesStore;
  rooms: RoomService;
  bookings: Bookings;
  clock: Clock;
  generateRoomCode: () => string;
  /** Room defaults the create path uses (grace, ttl, no-show grace). */
  roomDefaults: { grace_ms: number; ttl_ms: number; no_show_grace_ms: number };
  /** For booking members through the ordinary join path. */
  entry: RoomsContext;
  log: FastifyBaseLogger;
}

export interface OccurrenceView {
  starts_at: number;
  room_code: string | null;
}

/** How often each instance moves the horizon. */
export const SWEEP_EVERY_MS = 60_000;

const windowAt = (s: Series, startsAt: number): Window => ({ start: startsAt, end: startsAt + plannedLength(s.settings) });
const full = (t: number): AppError => new AppError('room_full', `the occurrence at ${new Date(t).toISOString()} is full`);
const clash = (err: SlotTaken, startsAt: number | undefined): AppError =>
  new AppError('time_slot_taken', `the occurrence at ${startsAt === undefined ? 'an upcoming time' : new Date(startsAt).toISOString()} overlaps your session ${err.entry.room}`);

export class SeriesService {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;

  constructor(private readonly deps: SeriesServiceDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  /** The series as stored; `not_found` when there is none. */
  async get(id: string): Promise<Series> {
    const s = await this.deps.store.get(id);
    if (!s) throw new AppError('not_found', 'no such series');
    return s;
  }

  views(s: Series): OccurrenceView[] {
    return liveOccurrences(s).map((t) => ({ starts_at: t, room_code: s.occurrences[String(t)] ?? null }));
  }

  /** Creates the series, books its owner into the horizon's occurrences (all or none) and creates their rooms. */
  async create(series: Series): Promise<Series> {
    const now = this.deps.clock.now();
    const due = occurrencesInHorizon(series, now);
    const codes = new Map(due.map((t) => [t, this.deps.generateRoomCode()]));
    const owner = series.members[0]!;
    try {
      await this.deps.bookings.claimMany(
        owner.identity,
        due.map((t) => ({ room: codes.get(t)!, window: windowAt(series, t) })),
      );
    } catch (err) {
      if (err instanceof SlotTaken) throw clash(err, due.find((t) => codes.get(t) === err.wanted));
      throw err;
    }
    const stored: Series = { ...series, occurrences: Object.fromEntries(due.map((t) => [String(t), codes.get(t)!])) };
    await this.deps.store.create(stored);
    for (const t of due) await this.createOccurrenceRoom(stored, t, codes.get(t)!, [owner]);
    return stored;
  }

  /**
   * Books `member` into every occurrence that exists as a room, all or nothing, and keeps
   * them a member, so later occurrences seat them too. Already a member: nothing changes.
   *
   * 1. The booking index takes every occurrence's window in one atomic step (memory: one
   *    synchronous change; Redis: one Lua script on the identity's hash), or refuses with
   *    `time_slot_taken` naming the first clashing starts_at; nothing is booked then.
   * 2. A seat is taken in each occurrence's room, soonest first, each an atomic room
   *    change. Every joiner goes in the same order, so two racing for the last seat meet
   *    at the same first room and the loser holds nothing yet. A room that refuses (full:
   *    it filled up through joins by code since the check) undoes the seats already taken
   *    and the bookings, and the caller gets `room_full` naming it.
   * 3. The member is added to the series by compare-and-set: the commit. Until then the
   *    series, GET /series/:id, /me/sessions' series view and the calendar feed do not
   *    show them. Occurrences the sweep created meanwhile (their code in the committed
   *    series, their room there) seat them right after; one whose code the sweep claimed
   *    before the commit but whose room it creates after this looked is seated by the
   *    sweep, which looks at the members again once the room exists (seatLateMembers).
   */
  async addMember(id: string, member: SeriesMember): Promise<Series> {
    const s = await this.get(id);
    if (s.ended_at !== null) throw new AppError('invalid_state', 'the series is cancelled');
    if (s.members.some((m) => m.identity === member.identity)) return s;
    const now = this.deps.clock.now();
    const rooms: { t: number; code: string }[] = [];
    for (const t of occurrencesInHorizon(s, now)) {
      const code = s.occurrences[String(t)];
      if (code === undefined) continue;
      const room = await this.deps.rooms.get(code);
      if (!room || room.status !== 'waiting') continue;
      if (room.participants.length >= room.settings.max_participants && !heldSeat(room, member.identity)) throw full(t);
      rooms.push({ t, code });
    }
    try {
      await this.deps.bookings.claimMany(
        member.identity,
        rooms.map((r) => ({ room: r.code, window: windowAt(s, r.t) })),
      );
    } catch (err) {
      if (err instanceof SlotTaken) throw clash(err, rooms.find((r) => r.code === err.wanted)?.t);
      throw err;
    }
    const seated: { code: string; participantId: string }[] = [];
    let next: Series | null;
    try {
      for (const r of rooms) {
        const participantId = await this.seat(r.code, member);
        if (participantId === null) throw full(r.t);
        seated.push({ code: r.code, participantId });
      }
      next = await this.deps.store.update(id, (cur) => {
        if (cur.ended_at !== null) throw new AppError('invalid_state', 'the series is cancelled');
        return cur.members.some((m) => m.identity === member.identity) ? cur : { ...cur, members: [...cur.members, member] };
      });
      if (!next) throw new AppError('not_found', 'no such series');
    } catch (err) {
      await this.unseat(member.identity, seated, rooms.map((r) => r.code));
      throw err;
    }
    // Committed: nothing from here on undoes the booking.
    // An occurrence that started or went away meanwhile keeps no booking.
    await this.releaseUnseated(member.identity, seated.filter((x) => x.participantId === '').map((x) => x.code));
    await this.seatInLater(next, member, new Set(rooms.map((r) => r.code)));
    return next;
  }

  /**
   * A booked seat (not connected) for `member` in the occurrence's room; its id, or null
   * when the room is full. A room that is gone or no longer waiting is skipped ('').
   */
  private async seat(code: string, member: SeriesMember): Promise<string | null> {
    const participantId = newParticipantId();
    try {
      const outcome = await this.deps.rooms.apply(code, (room) => {
        const held = heldSeat(room, member.identity);
        if (held) return { room, events: [], result: '', changed: false };
        if (room.status !== 'waiting') return { room, events: [], result: '', changed: false };
        return { ...join(room, this.bookedSeat(member, participantId), this.deps.clock.now()), result: participantId };
      });
      return outcome.result;
    } catch (err) {
      if (err instanceof AppError && err.code === 'room_full') return null;
      if (err instanceof RoomNotFoundError || (err instanceof AppError && err.code === 'not_found')) return '';
      throw err;
    }
  }

  /** Undoes a refused addMember: the seats it took leave, its bookings go. */
  private async unseat(identity: string, seated: { code: string; participantId: string }[], booked: string[]): Promise<void> {
    for (const { code, participantId } of seated.reverse()) {
      if (participantId === '') continue;
      await this.deps.rooms
        .apply(code, (room) => (room.participants.some((p) => p.id === participantId) ? leave(room, participantId, 'left', this.deps.clock.now()) : { room, events: [], result: undefined, changed: false }))
        .catch((err: unknown) => this.deps.log.warn({ err: err instanceof Error ? err.message : err, room: code }, 'series member seat could not be undone'));
    }
    await this.releaseUnseated(identity, booked);
  }

  /** Releases the identity's bookings of these rooms, except where it holds a seat (one it had before). */
  private async releaseUnseated(identity: string, codes: string[]): Promise<void> {
    await Promise.allSettled(
      codes.map(async (code) => {
        const room = await this.deps.rooms.get(code).catch(() => null);
        if (room && heldSeat(room, identity)) return;
        await this.deps.bookings.release(identity, code);
      }),
    );
  }

  /**
   * Occurrences the sweep created while `member` was joining (it read the members before
   * the commit): seated as the sweep would. One whose room is not there yet is the
   * sweep's to seat them in (seatLateMembers, after it creates the room).
   */
  private async seatInLater(s: Series, member: SeriesMember, done: Set<string>): Promise<void> {
    for (const t of occurrencesInHorizon(s, this.deps.clock.now())) {
      const code = s.occurrences[String(t)];
      if (code === undefined || done.has(code)) continue;
      const room = await this.deps.rooms.get(code);
      if (!room || heldSeat(room, member.identity)) continue;
      await this.seatLate(s, t, code, member);
    }
  }

  /**
   * After the sweep created an occurrence's room from the members it read when it claimed
   * the code: a member committed since (whose own booking looked before the room existed)
   * is seated now. Between them the member's booking and this look cover every order:
   * a commit before this re-read is seen here, one after it finds the room there.
   */
  private async seatLateMembers(id: string, t: number, code: string): Promise<void> {
    const s = await this.deps.store.get(id);
    if (!s || s.ended_at !== null || s.cancelled.includes(t)) return;
    const room = await this.deps.rooms.get(code);
    if (!room) return;
    for (const m of s.members) if (!heldSeat(room, m.identity)) await this.seatLate(s, t, code, m);
  }

  /** A member booked and seated into one occurrence after its room was made: left out if booked elsewhere then, or if it is full. */
  private async seatLate(s: Series, t: number, code: string, member: SeriesMember): Promise<void> {
    try {
      await this.deps.bookings.claim(member.identity, code, windowAt(s, t));
    } catch (err) {
      if (err instanceof AppError && err.code === 'time_slot_taken') return;
      throw err;
    }
    if ((await this.seat(code, member)) === null) await this.deps.bookings.release(member.identity, code).catch(() => {});
  }

  private bookedSeat(m: SeriesMember, id = newParticipantId()): NewParticipant {
    return {
      id,
      user_name: m.user_name,
      // Nobody holds this token: the member takes the seat by joining with their identity.
      token_hash: hashToken(newResumeToken()),
      socket_id: '',
      identity: m.identity,
      connected: false,
    };
  }

  async cancelOccurrence(id: string, identity: string, startsAt: number): Promise<void> {
    const s = await this.get(id);
    requireOwner(s, identity);
    const next = await this.deps.store.update(id, (cur) => cancelOccurrence(cur, startsAt, this.deps.clock.now()));
    const code = next?.occurrences[String(startsAt)];
    const seq = code ? await this.closeRoom(code) : 1;
    await this.noteCancelled(id, [[startsAt, seq]]);
  }

  /** Keeps each cancellation's calendar SEQUENCE with the series. */
  private async noteCancelled(id: string, seqs: [number, number][]): Promise<void> {
    await this.deps.store.update(id, (cur) => ({ ...cur, cancelled_seq: { ...cur.cancelled_seq, ...Object.fromEntries(seqs.map(([t, q]) => [String(t), q])) } }));
  }

  async cancelSeries(id: string, identity: string): Promise<void> {
    const s = await this.get(id);
    requireOwner(s, identity);
    const now = this.deps.clock.now();
    const next = await this.deps.store.update(id, (cur) => endSeries(cur, now));
    const seqs: [number, number][] = [];
    for (const [t, code] of Object.entries(next?.occurrences ?? {})) if (Number(t) > now) seqs.push([Number(t), await this.closeRoom(code)]);
    await this.noteCancelled(id, seqs);
  }

  /** Creates the occurrences the horizon now reaches, in every series; each once across instances. */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepAll().finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  private async sweepAll(): Promise<void> {
    let ids: string[];
    try {
      ids = await this.deps.store.ids();
    } catch (err) {
      this.deps.log.warn({ err: err instanceof Error ? err.message : err }, 'series sweep could not list series');
      return;
    }
    for (const id of ids) {
      try {
        await this.sweepOne(id);
      } catch (err) {
        this.deps.log.warn({ err: err instanceof Error ? err.message : err, series: id }, 'series sweep failed; next sweep retries');
      }
    }
  }

  private async sweepOne(id: string): Promise<void> {
    const s = await this.deps.store.get(id);
    if (!s || s.ended_at !== null) return;
    await this.repairClaimed(s);
    for (const t of missingOccurrences(s, this.deps.clock.now())) {
      const code = this.deps.generateRoomCode();
      const key = String(t);
      // The claim: whoever writes the code first creates the room; everyone else sees it taken.
      const next = await this.deps.store.update(id, (cur) => (cur.occurrences[key] !== undefined ? cur : { ...cur, occurrences: { ...cur.occurrences, [key]: code } }));
      if (!next || next.occurrences[key] !== code) continue;
      const seated: SeriesMember[] = [];
      for (const m of next.members) {
        try {
          await this.deps.bookings.claim(m.identity, code, windowAt(next, t));
          seated.push(m);
        } catch (err) {
          // A member booked elsewhere at that time keeps the other booking.
          if (!(err instanceof AppError && err.code === 'time_slot_taken')) throw err;
        }
      }
      if (await this.createOccurrenceRoom(next, t, code, seated)) await this.seatLateMembers(id, t, code);
    }
  }

  /**
   * An upcoming occurrence whose code was claimed but whose room is not there (the
   * claimant died in between, or the room limit refused it): created now. Before its
   * start nothing else deletes an occurrence's room (a cancel is recorded first), and two
   * instances repairing at once create it once (the store's create is atomic).
   */
  private async repairClaimed(s: Series): Promise<void> {
    const now = this.deps.clock.now();
    for (const t of occurrencesInHorizon(s, now)) {
      const code = s.occurrences[String(t)];
      // Not the minute before the start: a room may be starting, or its creator still at work.
      if (code === undefined || t - now < 60_000 || now - s.created_at < 60_000) continue;
      if (await this.deps.rooms.get(code)) continue;
      const seated: SeriesMember[] = [];
      for (const m of s.members) {
        try {
          await this.deps.bookings.claim(m.identity, code, windowAt(s, t));
          seated.push(m);
        } catch (err) {
          if (!(err instanceof AppError && err.code === 'time_slot_taken')) throw err;
        }
      }
      if (await this.createOccurrenceRoom(s, t, code, seated)) await this.seatLateMembers(s.id, t, code);
    }
  }

  /**
   * The occurrence as a scheduled room whose seats are the members' bookings (not
   * connected). True when the occurrence's room exists now (made here, or by another
   * instance repairing it at the same moment).
   */
  private async createOccurrenceRoom(s: Series, startsAt: number, code: string, members: SeriesMember[]): Promise<boolean> {
    if (members.length === 0) return false;
    const now = this.deps.clock.now();
    const seat = (m: SeriesMember): NewParticipant => this.bookedSeat(m);
    const [host, ...rest] = members;
    let room: Room = createRoom(
      {
        id: `${s.id}.${startsAt}`,
        code,
        host: seat(host!),
        settings: { ...s.settings, late_join: true },
        starts_at: startsAt,
        title: s.title,
        ...this.deps.roomDefaults,
      },
      now,
    );
    for (const m of rest.slice(0, s.settings.max_participants - 1)) room = join(room, seat(m), now).room!;
    room.seq = 1;
    if (!(await this.deps.rooms.create(room))) {
      // Created by another instance repairing it at the same moment: its seats are ours too.
      if ((await this.deps.rooms.get(code))?.id === room.id) return true;
      this.deps.log.warn({ series: s.id, room: code }, 'series occurrence room code already in use');
      for (const m of members) await this.deps.bookings.release(m.identity, code).catch(() => {});
      return false;
    }
    return true;
  }

  /** Closes an occurrence's room; returns the seq of its `room_closed` (1 when the room was gone). */
  private async closeRoom(code: string): Promise<number> {
    try {
      const outcome = await this.deps.rooms.apply(code, (room) => cancelRoom(room, this.deps.clock.now()));
      return outcome.events.at(-1)?.seq ?? 1;
    } catch (err) {
      if (!(err instanceof RoomNotFoundError) && !(err instanceof AppError && err.code === 'not_found')) throw err;
      return 1;
    }
  }
}
