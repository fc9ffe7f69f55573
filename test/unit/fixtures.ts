/**
 * Shared fixtures for the domain unit tests (test/unit/domain-*.test.ts): a fixed clock
 * origin, participants, a room builder and small outcome/error helpers. Pure data and
 * pure functions: each test file keeps its own durations and room shapes on top of these.
 */
import { AppError } from '../../src/contract/errors.js';
import type { Outcome } from '../../src/domain/draft.js';
import { createRoom, join, type NewParticipant } from '../../src/domain/membership.js';
import type { Room, RoomSettings } from '../../src/domain/room-state.js';

/** The injected "now" every test starts from. */
export const T0 = 1_700_000_000_000;

/** `ms` after T0. */
export const at = (ms: number): number => T0 + ms;

/** Participant `id`, with name, token hash and socket id derived from it (`user-<id>`, ...). */
export const person = (id: string): NewParticipant => ({ id, user_name: `user-${id}`, token_hash: `hash-${id}`, socket_id: `sock-${id}` });

/** The room an outcome leaves behind; throws if the transition deleted it. */
export const ok = <T>(o: Outcome<T>): Room => {
  if (!o.room) throw new Error('room unexpectedly deleted');
  return o.room;
};

/** The AppError code `fn` throws, or undefined if it returns; any other error is rethrown. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e.code;
    throw e;
  }
  return undefined;
}

/** Room settings unless a test overrides them: one 60 s round, room for 4, late join on. */
export const DEFAULT_SETTINGS: Readonly<RoomSettings> = { session_duration: 60_000, max_participants: 4, late_join: true, rounds: 1, break_duration: 300_000 };

export interface RoomOptions {
  /** Merged over DEFAULT_SETTINGS. */
  settings?: Partial<RoomSettings>;
  /** Reconnect grace; 60 s unless given. */
  grace_ms?: number;
  /** Idle room TTL; 2 h unless given. */
  ttl_ms?: number;
  /** Creation time; T0 unless given. */
  now?: number;
}

/** A waiting room `room-1` / `ABC234`, hosted by person('h') alone. */
export function hostedRoom({ settings = {}, grace_ms = 60_000, ttl_ms = 7_200_000, now = T0 }: RoomOptions = {}): Room {
  return createRoom({ id: 'room-1', code: 'ABC234', host: person('h'), settings: { ...DEFAULT_SETTINGS, ...settings }, grace_ms, ttl_ms }, now);
}

/** `room` after person(id) joined at each `[id, time]`, in order. */
export function withJoined(room: Room, joins: ReadonlyArray<readonly [id: string, time: number]>): Room {
  return joins.reduce((r, [id, time]) => ok(join(r, person(id), time)), room);
}
