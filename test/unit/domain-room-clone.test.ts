/**
 * cloneRoom (room-state.ts) replaces structuredClone in every Draft: it must give an
 * equal room that shares no object with the original, or a change would leak into the
 * stored room. The fixture is a `Required<Room>` with `Required<Participant>`s, so a field
 * added to Room does not compile here until it is in the fixture, and a nested object
 * cloneRoom does not copy then fails the shared-object check.
 */
import { describe, expect, it } from 'vitest';
import { cloneRoom, type Participant, type Room, type Task } from '../../src/domain/room-state.js';
import { T0 } from './fixtures.js';

const participant = (id: string): Required<Participant> => ({
  id,
  user_name: `user-${id}`,
  status: 'focusing',
  joined_at: T0,
  connected: true,
  token_hash: `hash-${id}`,
  socket_id: `sock-${id}`,
  disconnected_at: null,
  focused_ms: 1_000,
  focus_since: T0 + 5,
  pauses: 1,
  user_sub: `sub-${id}`,
  identity: `sub:${id}`,
  intention: `finish chapter ${id}`,
  present: true,
  round_base: { focused_ms: 500, pauses: 0 },
  recap: { round: 1, outcome: 'partly', note: `note ${id}` },
});

const task: Task = { id: 't1', title: 'write', done: false, created_by: 'h', created_at: T0 };

const fullRoom: Required<Room> = {
  id: 'room-1',
  code: 'ABC234',
  created_at: T0,
  updated_at: T0 + 10,
  host_id: 'h',
  settings: { session_duration: 60_000, max_participants: 4, late_join: true, rounds: 2, break_duration: 5_000 },
  status: 'active',
  started_at: T0 + 1,
  ends_at: T0 + 60_001,
  remaining_ms: null,
  completed_at: null,
  phase: 'focus',
  round: 1,
  round_started_at: T0 + 1,
  participants: [participant('h'), { ...participant('g'), round_base: undefined as never }],
  tasks: [task],
  seq: 7,
  grace_ms: 60_000,
  ttl_ms: 7_200_000,
  no_show_grace_ms: 300_000,
  no_show_at: T0 + 300_001,
  ended_rounds: [{ round: 1, run_started_at: T0 + 1, ended_at: T0 + 30_001, participant_ids: ['h', 'g'] }],
  starts_at: T0,
  title: 'Deep work',
  final_results: [{ participant_id: 'h', user_name: 'user-h', status: 'completed', focused_ms: 1_000, pauses: 1 }],
  remind_lead_ms: 300_000,
  reminded_for: null,
};

/** Every object reachable from `value`, with its path. */
function objects(value: unknown, path = 'room', out = new Map<object, string>()): Map<object, string> {
  if (value && typeof value === 'object') {
    out.set(value, path);
    for (const [k, v] of Object.entries(value)) objects(v, `${path}.${k}`, out);
  }
  return out;
}

describe('cloneRoom', () => {
  it('is equal to the room and to what structuredClone gives', () => {
    const copy = cloneRoom(fullRoom);
    expect(copy).toEqual(fullRoom);
    expect(copy).toEqual(structuredClone(fullRoom));
  });

  it('shares no object with the room it copies', () => {
    const original = objects(fullRoom);
    const shared = [...objects(cloneRoom(fullRoom))].filter(([o]) => original.has(o)).map(([, path]) => path);
    expect(shared).toEqual([]);
  });

  it('leaves the original untouched when the copy is changed', () => {
    const before = structuredClone(fullRoom);
    const copy = cloneRoom(fullRoom);
    copy.settings.rounds = 9;
    copy.participants[0]!.round_base!.pauses = 9;
    copy.participants[1]!.status = 'paused';
    copy.tasks[0]!.done = true;
    copy.participants.push(participant('x'));
    expect(fullRoom).toEqual(before);
  });
});
