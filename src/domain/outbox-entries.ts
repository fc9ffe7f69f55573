/**
 * What one committed room change puts in the outbox: completed rounds for the store of
 * record, and the webhook events. Pure and deterministic (ids are the room id and the
 * event's seq), so a compare-and-set that is retried computes the same entries, and a
 * receiver can deduplicate a redelivered webhook by its id.
 */
import type { LeaveReason, RecapOutcome } from '../contract/events.js';
import type { Outcome } from './draft.js';
import { eventNotice, type PushNotice, reminderNotice } from './push-notices.js';
import type { Room } from './room-state.js';
import type { RoundRecord } from './round-record.js';
import type { AttendanceRecord } from './attendance-record.js';
import { endedRound } from './recap.js';

/** A recap as the store of record keeps it: on the result row of (room, run, round, participant). */
export interface RecapRecord extends RoomRef {
  run_started_at: number;
  round: number;
  participant_id: string;
  /** Who this is across rooms; never sent in a webhook. */
  identity: string | null;
  user_name: string;
  outcome: RecapOutcome;
  note: string | null;
}

export const OUTBOX_ENTRY_TYPES = ['round.completed', 'session.started', 'participant.joined', 'participant.left', 'participant.recap', 'attendance.recorded', 'push.notice'] as const;
export type OutboxEntryType = (typeof OUTBOX_ENTRY_TYPES)[number];

export interface RoomRef {
  room_id: string;
  room_code: string;
}

export type OutboxEntry =
  | { id: string; type: 'round.completed'; at: number; data: RoundRecord }
  | { id: string; type: 'session.started'; at: number; data: RoomRef & { round: number } }
  | { id: string; type: 'participant.joined'; at: number; data: RoomRef & { participant_id: string; user_name: string } }
  | { id: string; type: 'participant.left'; at: number; data: RoomRef & { participant_id: string; reason: LeaveReason } }
  | { id: string; type: 'participant.recap'; at: number; data: RecapRecord }
  | { id: string; type: 'attendance.recorded'; at: number; data: AttendanceRecord }
  | { id: string; type: 'push.notice'; at: number; data: PushNotice };

/**
 * The entries of `outcome`, applied to `before`, restricted to `types` (what this
 * deployment consumes: nothing is queued that no reader would take).
 */
export function outboxEntries(before: Room, outcome: Outcome<unknown>, types: ReadonlySet<OutboxEntryType>): OutboxEntry[] {
  if (types.size === 0 || !outcome.changed) return [];
  const ref: RoomRef = { room_id: before.id, room_code: before.code };
  const at = outcome.room?.updated_at ?? before.updated_at;
  const records = [...(outcome.records ?? [])];
  const entries: OutboxEntry[] = [];
  let round = before.round;
  let previous: string | null = null;
  const push = types.has('push.notice') ? outcome.room : null;
  if (push) {
    const reminder = reminderNotice(before, push);
    if (reminder) entries.push({ id: `${before.id}.reminder.${reminder.starts_at}`, type: 'push.notice', at, data: reminder });
  }
  for (const e of outcome.events) {
    const id = `${before.id}.${e.seq}`;
    const data = e.data as Record<string, unknown>;
    if (push) {
      const notice = eventNotice(push, e.event, previous, at);
      if (notice) entries.push({ id: `${id}.push`, type: 'push.notice', at, data: notice });
    }
    switch (e.event) {
      case 'session_completed': {
        // Records are produced one per session_completed, in the same order.
        const record = records.shift();
        if (record && types.has('round.completed')) entries.push({ id, type: 'round.completed', at: record.ended_at, data: record });
        break;
      }
      case 'phase_changed':
        round = data.round as number;
        break;
      case 'session_started':
        // The next pomodoro round follows its phase_changed; any other start is the host's (round 1).
        if (previous !== 'phase_changed') round = 1;
        if (types.has('session.started')) entries.push({ id, type: 'session.started', at, data: { ...ref, round } });
        break;
      case 'participant_joined': {
        const p = data.participant as { id: string; user_name: string };
        if (types.has('participant.joined')) entries.push({ id, type: 'participant.joined', at, data: { ...ref, participant_id: p.id, user_name: p.user_name } });
        break;
      }
      case 'participant_left':
        if (types.has('participant.left')) {
          entries.push({ id, type: 'participant.left', at, data: { ...ref, participant_id: data.participant_id as string, reason: data.reason as LeaveReason } });
        }
        break;
      case 'participant_recap': {
        const after = outcome.room ?? before;
        const ended = endedRound(after, data.round as number);
        const p = after.participants.find((x) => x.id === data.participant_id);
        if (ended && p && types.has('participant.recap')) {
          entries.push({
            id,
            type: 'participant.recap',
            at,
            data: {
              ...ref,
              run_started_at: ended.run_started_at,
              round: ended.round,
              participant_id: p.id,
              identity: p.identity ?? null,
              user_name: p.user_name,
              outcome: data.outcome as RecapOutcome,
              note: (data.note as string | null) ?? null,
            },
          });
        }
        break;
      }
    }
    previous = e.event;
  }
  // One per booked run, keyed by the run: a retried compare-and-set computes the same id.
  if (types.has('attendance.recorded')) {
    for (const a of outcome.attendance ?? []) entries.push({ id: `${before.id}.attendance.${a.run_started_at}`, type: 'attendance.recorded', at: a.decided_at, data: a });
  }
  return entries;
}
