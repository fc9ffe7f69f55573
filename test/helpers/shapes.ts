/**
 * Exact wire shapes for integration tests: every key present, none extra, snake_case,
 * right types. One place, so a contract change shows up as one failing helper.
 */
import { expect } from 'vitest';
import { ROOM_CODE_ALPHABET, ROOM_CODE_LENGTH } from '../../src/contract/limits.js';
import { sleep } from './sleep.js';

export const ROOM_CODE_RE = new RegExp(`^[${ROOM_CODE_ALPHABET}]{${ROOM_CODE_LENGTH}}$`);

const SNAPSHOT_KEYS = [
  'results',
  'break_duration',
  'phase',
  'round',
  'rounds',
  'created_at',
  'ends_at',
  'host_id',
  'id',
  'is_creator',
  'late_join',
  'max_participants',
  'participants',
  'room_code',
  'seq',
  'server_now',
  'session_duration',
  'started_at',
  'status',
  'tasks',
  'time_left_ms',
  'starts_at',
  'title',
].sort();

const PARTICIPANT_KEYS = ['connected', 'id', 'intention', 'joined_at', 'status', 'user_name'].sort();
const TASK_KEYS = ['created_at', 'created_by', 'done', 'id', 'title'].sort();

const keys = (o: object) => Object.keys(o).sort();
const isInt = (n: unknown) => typeof n === 'number' && Number.isInteger(n);
const isEpochMs = (n: unknown) => isInt(n) && (n as number) > 1_600_000_000_000 && (n as number) < 4_000_000_000_000;

/** A participant view: exact keys and types. */
export function expectParticipant(p: any): void {
  expect(keys(p)).toEqual(PARTICIPANT_KEYS);
  expect(typeof p.id).toBe('string');
  expect(typeof p.user_name).toBe('string');
  expect(['ready', 'focusing', 'paused', 'failed', 'completed']).toContain(p.status);
  expect(isEpochMs(p.joined_at)).toBe(true);
  expect(typeof p.connected).toBe('boolean');
}

export function expectTask(t: any): void {
  expect(keys(t)).toEqual(TASK_KEYS);
  expect(typeof t.id).toBe('string');
  expect(typeof t.title).toBe('string');
  expect(typeof t.done).toBe('boolean');
  expect(typeof t.created_by).toBe('string');
  expect(isEpochMs(t.created_at)).toBe(true);
}

/** A session snapshot: exact keys, types, and the invariants between its fields. */
export function expectSnapshot(s: any, expected: { is_creator?: boolean; status?: string; room_code?: string } = {}): void {
  expect(keys(s)).toEqual(SNAPSHOT_KEYS);
  expect(typeof s.id).toBe('string');
  expect(s.room_code).toMatch(ROOM_CODE_RE);
  expect(Array.isArray(s.participants)).toBe(true);
  s.participants.forEach(expectParticipant);
  expect(isInt(s.max_participants)).toBe(true);
  expect(['waiting', 'active', 'paused', 'completed']).toContain(s.status);
  expect(isInt(s.session_duration)).toBe(true);
  expect(isInt(s.time_left_ms)).toBe(true);
  expect(s.started_at === null || isEpochMs(s.started_at)).toBe(true);
  expect(isEpochMs(s.created_at)).toBe(true);
  expect(typeof s.is_creator).toBe('boolean');
  expect(s.participants.some((p: any) => p.id === s.host_id)).toBe(true);
  expect(isEpochMs(s.server_now)).toBe(true);
  expect(isInt(s.seq)).toBe(true);
  expect(typeof s.late_join).toBe('boolean');
  expect(Array.isArray(s.tasks)).toBe(true);
  s.tasks.forEach(expectTask);
  expect(['focus', 'break']).toContain(s.phase);
  expect(isInt(s.round) && s.round >= 1 && s.round <= s.rounds).toBe(true);
  expect(isInt(s.break_duration)).toBe(true);
  if (s.status === 'completed') expect(Array.isArray(s.results)).toBe(true);
  else expect(s.results).toBeNull();
  // ends_at is set exactly while the countdown runs.
  if (s.status === 'active') {
    expect(isEpochMs(s.ends_at)).toBe(true);
    expect(s.time_left_ms).toBe(Math.max(0, s.ends_at - s.server_now));
  } else {
    expect(s.ends_at).toBeNull();
  }
  expect(s.starts_at === null || isEpochMs(s.starts_at)).toBe(true);
  expect(s.title === null || typeof s.title === 'string').toBe(true);
  if (expected.is_creator !== undefined) expect(s.is_creator).toBe(expected.is_creator);
  if (expected.status !== undefined) expect(s.status).toBe(expected.status);
  if (expected.room_code !== undefined) expect(s.room_code).toBe(expected.room_code);
}

/** The create/join reply (ack without `ok`, or the session_created/session_joined event). */
export function expectJoinedPayload(p: any, extraKeys: string[] = []): void {
  // user_key (docs/persistence.md): issued on an anonymous create/join that sent none; a secret of ≥128 bits.
  const optional = 'user_key' in p ? ['user_key'] : [];
  expect(keys(p)).toEqual(['participant_id', 'resume_token', 'room_code', 'session', 'session_id', 'success', ...optional, ...extraKeys].sort());
  if ('user_key' in p) expect(p.user_key).toMatch(/^[A-Za-z0-9_-]{22,64}$/);
  expect(p.success).toBe(true);
  expect(p.room_code).toMatch(ROOM_CODE_RE);
  expect(p.session_id).toBe(p.session.id);
  expect(p.session.room_code).toBe(p.room_code);
  expect(typeof p.participant_id).toBe('string');
  expect(p.session.participants.some((x: any) => x.id === p.participant_id)).toBe(true);
  // ≥128 bits: at least 22 characters of a 64-symbol alphabet.
  expect(typeof p.resume_token).toBe('string');
  expect(p.resume_token.length).toBeGreaterThanOrEqual(22);
  expectSnapshot(p.session);
}

/** A failed ack: `{ ok: false, error: { code, message } }` with exactly these keys. */
export function expectAckError(reply: any, code: string): void {
  expect(reply.ok).toBe(false);
  expect(keys(reply)).toEqual(['error', 'ok']);
  expect(keys(reply.error)).toEqual(['code', 'message']);
  expect(reply.error.code).toBe(code);
  expect(typeof reply.error.message).toBe('string');
  expect(reply.error.message.length).toBeGreaterThan(0);
}

/** `{ ok: true, ...rest }` → rest (the reply payload without `ok`). */
export function withoutOk(reply: any): any {
  expect(reply.ok).toBe(true);
  const { ok: _ok, ...rest } = reply;
  return rest;
}

/** A fixed window in which a duplicate or unwanted event would have arrived. */
export const quietWindow = (ms = 250) => sleep(ms);
