/**
 * Exact wire shapes for integration tests: what the server sent is parsed by the strict
 * form of the contract's own schema (src/contract/server-schemas.ts) — every key present,
 * none extra, at every depth, right types — plus the invariants between fields a schema
 * does not state. One place, so a contract change shows up as one failing helper.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { z } from 'zod';
import { ROOM_CODE_ALPHABET, ROOM_CODE_LENGTH } from '../../src/contract/limits.js';
import {
  ackErrorSchema,
  participantViewSchema,
  sessionJoinedSchema,
  sessionResumedSchema,
  sessionSnapshotSchema,
  taskViewSchema,
} from '../../src/contract/server-schemas.js';

export const ROOM_CODE_RE = new RegExp(`^[${ROOM_CODE_ALPHABET}]{${ROOM_CODE_LENGTH}}$`);

/**
 * The schema with every object in it strict (`z.strictObject`: an unknown key fails), at
 * every depth — zod's `.strict()` alone covers only the outer object.
 */
export function strict(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodObject) return z.strictObject(Object.fromEntries(Object.entries(schema.shape).map(([k, v]) => [k, strict(v as z.ZodType)])));
  if (schema instanceof z.ZodArray) return z.array(strict(schema.element as z.ZodType));
  if (schema instanceof z.ZodNullable) return strict(schema.unwrap() as z.ZodType).nullable();
  if (schema instanceof z.ZodOptional) return strict(schema.unwrap() as z.ZodType).optional();
  if (schema instanceof z.ZodUnion) return z.union((schema.options as z.ZodType[]).map(strict));
  return schema;
}

const stricts = new WeakMap<z.ZodType, z.ZodType>();

/** `value` parses with the strict form of `schema` (the failure names the paths and keys). */
export function expectShape(schema: z.ZodType, value: unknown): void {
  let s = stricts.get(schema);
  if (!s) stricts.set(schema, (s = strict(schema)));
  const parsed = s.safeParse(value);
  expect(parsed.success, parsed.success ? '' : `${z.prettifyError(parsed.error)}\nin ${JSON.stringify(value)}`).toBe(true);
}

const isInt = (n: unknown) => typeof n === 'number' && Number.isInteger(n);
const isEpochMs = (n: unknown) => isInt(n) && (n as number) > 1_600_000_000_000 && (n as number) < 4_000_000_000_000;

/** A participant view: exact keys and types. */
export function expectParticipant(p: any): void {
  expectShape(participantViewSchema, p);
  expect(['ready', 'focusing', 'paused', 'failed', 'completed']).toContain(p.status);
  expect(isEpochMs(p.joined_at)).toBe(true);
}

export function expectTask(t: any): void {
  expectShape(taskViewSchema, t);
  expect(isEpochMs(t.created_at)).toBe(true);
}

/** A session snapshot: exact keys, types, and the invariants between its fields. */
export function expectSnapshot(s: any, expected: { is_creator?: boolean; status?: string; room_code?: string } = {}): void {
  expectShape(sessionSnapshotSchema, s);
  expect(s.room_code).toMatch(ROOM_CODE_RE);
  s.participants.forEach(expectParticipant);
  expect(s.started_at === null || isEpochMs(s.started_at)).toBe(true);
  expect(isEpochMs(s.created_at)).toBe(true);
  expect(s.participants.some((p: any) => p.id === s.host_id)).toBe(true);
  expect(isEpochMs(s.server_now)).toBe(true);
  s.tasks.forEach(expectTask);
  expect(s.round >= 1 && s.round <= s.rounds).toBe(true);
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
  if (expected.is_creator !== undefined) expect(s.is_creator).toBe(expected.is_creator);
  if (expected.status !== undefined) expect(s.status).toBe(expected.status);
  if (expected.room_code !== undefined) expect(s.room_code).toBe(expected.room_code);
}

const RESUMED_SHAPE: Record<string, z.ZodType> = sessionResumedSchema.shape;

/**
 * The create/join reply (ack without `ok`, or the session_created/session_joined event);
 * `extraKeys`: the keys of the resume reply it also carries (`missed`, `missed_complete`, `resumed`).
 */
export function expectJoinedPayload(p: any, extraKeys: string[] = []): void {
  const extra = Object.fromEntries(
    extraKeys.map((k) => {
      if (!(k in RESUMED_SHAPE) || k in sessionJoinedSchema.shape) throw new Error(`expectJoinedPayload: "${k}" is not a key the resume reply adds`);
      return [k, RESUMED_SHAPE[k]!];
    }),
  );
  expectShape(extraKeys.length ? sessionJoinedSchema.extend(extra) : sessionJoinedSchema, p);
  // user_key (docs/persistence.md): issued on an anonymous create/join that sent none; a secret of ≥128 bits.
  if ('user_key' in p) expect(p.user_key).toMatch(/^[A-Za-z0-9_-]{22,64}$/);
  expect(p.room_code).toMatch(ROOM_CODE_RE);
  expect(p.session_id).toBe(p.session.id);
  expect(p.session.room_code).toBe(p.room_code);
  expect(typeof p.participant_id).toBe('string');
  expect(p.session.participants.some((x: any) => x.id === p.participant_id)).toBe(true);
  // ≥128 bits: at least 22 characters of a 64-symbol alphabet.
  expect(p.resume_token.length).toBeGreaterThanOrEqual(22);
  expectSnapshot(p.session);
}

/** A failed ack: `{ ok: false, error: { code, message } }` with exactly these keys. */
export function expectAckError(reply: any, code: string): void {
  expectShape(ackErrorSchema, reply);
  expect(reply.error.code).toBe(code);
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
