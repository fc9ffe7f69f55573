/**
 * The SDK's types come from src/contract: payloads and results of every method, and the
 * events of `on()`. The `@ts-expect-error` lines are checked by `npm run typecheck` (part
 * of `npm test`): if a wrong payload ever compiles, the unused directive fails the build.
 * The calls sit in a function that never runs, so only the compiler sees them.
 */
import { describe, expectTypeOf, it } from 'vitest';
import { type ClientEvents, connect, FocusroomError, type FocusroomClient, type ResultOf, type SessionJoinedPayload, type SessionSnapshot, type TaskView } from '../../src/client/index.js';
import type { ErrorCode } from '../../src/contract/errors.js';
import type { RoomEvents, TimeUpdatePayload } from '../../src/contract/events.js';

function neverCalled(c: FocusroomClient): void {
  void c.create({ user_name: 'Ann', session_duration: 60_000, rounds: 2, break_duration: 5_000, late_join: false, max_participants: 4 });
  // @ts-expect-error session_duration is a number of ms
  void c.create({ user_name: 'Ann', session_duration: '25' });
  // @ts-expect-error no such create option
  void c.create({ user_name: 'Ann', colour: 'red' });
  void c.join('ABC234', 'Ann');
  // @ts-expect-error the room code is a string
  void c.join(123456, 'Ann');
  void c.setStatus('focusing');
  // @ts-expect-error `completed` is set by the server, never by a client
  void c.setStatus('completed');
  void c.updateTask('t1', { done: true });
  // @ts-expect-error done is a boolean
  void c.updateTask('t1', { done: 'yes' });
  // @ts-expect-error the task id is not a change
  void c.updateTask('t1', { task_id: 't2' });
  void c.updateSettings({ session_duration: 1_000 });
  // @ts-expect-error max_participants is a number
  void c.updateSettings({ max_participants: '4' });
  // @ts-expect-error a title is required
  void c.addTask();
  c.on('participant_joined', (p) => void p.participant.user_name);
  // @ts-expect-error task events carry a task, not a participant
  c.on('task_added', (p) => void p.participant);
  // @ts-expect-error no such event
  c.on('session_exploded', () => undefined);
  // @ts-expect-error the SDK's storage option takes a store or a name it knows
  connect('http://x', { storage: 'indexedDB' });
}

describe('SDK types', () => {
  it('methods are typed from the contract', () => {
    expectTypeOf(neverCalled).toBeFunction();
    expectTypeOf<FocusroomClient['create']>().returns.resolves.toEqualTypeOf<SessionJoinedPayload>();
    expectTypeOf<FocusroomClient['join']>().returns.resolves.toEqualTypeOf<SessionJoinedPayload>();
    expectTypeOf<FocusroomClient['start']>().returns.resolves.toEqualTypeOf<SessionSnapshot>();
    expectTypeOf<FocusroomClient['addTask']>().returns.resolves.toEqualTypeOf<ResultOf<'add_task'>>();
    expectTypeOf<ResultOf<'add_task'>>().toEqualTypeOf<{ task: TaskView; seq: number }>();
    expectTypeOf<ResultOf<'time_sync'>>().toEqualTypeOf<{ t0: number; server_now: number }>();
    expectTypeOf<FocusroomClient['setStatus']>().parameter(0).toEqualTypeOf<'ready' | 'focusing' | 'paused' | 'failed'>();
    expectTypeOf<FocusroomClient['timeLeft']>().returns.toEqualTypeOf<number>();
  });

  it('events are the contract payloads; errors carry the wire code', () => {
    expectTypeOf<Parameters<ClientEvents['session_completed']>[0]>().toEqualTypeOf<RoomEvents['session_completed']>();
    expectTypeOf<Parameters<ClientEvents['time_update']>[0]>().toEqualTypeOf<TimeUpdatePayload>();
    expectTypeOf<FocusroomError['code']>().toEqualTypeOf<ErrorCode | 'timeout' | 'disconnected' | 'closed'>();
  });
});
