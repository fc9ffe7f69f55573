/**
 * The room's shared task list: add / update / remove, membership, the per-room limit.
 */
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/contract/limits.js';
import { start } from '../../src/domain/countdown.js';
import type { Room } from '../../src/domain/room-state.js';
import { addTask, removeTask, updateTask } from '../../src/domain/tasks.js';
import { at, codeOf, hostedRoom, ok, T0, withJoined } from './fixtures.js';

function duo(): Room {
  return withJoined(hostedRoom(), [['b', T0]]);
}

describe('addTask', () => {
  it('any participant adds a task: task_added event, result, and the room list', () => {
    const room = duo();
    const o = addTask(room, 'b', 'task-1', 'Write the report', at(5_000));
    const task = { id: 'task-1', title: 'Write the report', done: false, created_by: 'b', created_at: at(5_000) };
    expect(o.result).toEqual({ task });
    expect(o.events).toEqual([{ seq: room.seq + 1, event: 'task_added', data: { task } }]);
    expect(ok(o).tasks).toEqual([task]);
    expect(ok(o).updated_at).toBe(at(5_000));
  });

  it('works in any room status and keeps insertion order', () => {
    let r = ok(addTask(duo(), 'h', 't1', 'one', at(1)));
    r = ok(start(r, 'h', at(2)));
    r = ok(addTask(r, 'b', 't2', 'two', at(3)));
    expect(r.tasks.map((t) => t.id)).toEqual(['t1', 't2']);
  });

  it('a stranger is not_in_session', () => {
    expect(codeOf(() => addTask(duo(), 'zz', 't1', 'x', at(1)))).toBe('not_in_session');
  });

  it(`holds at most LIMITS.tasksPerRoom (${LIMITS.tasksPerRoom}) tasks`, () => {
    let r = duo();
    for (let i = 0; i < LIMITS.tasksPerRoom; i++) r = ok(addTask(r, 'h', `t${i}`, `task ${i}`, at(i)));
    expect(r.tasks).toHaveLength(LIMITS.tasksPerRoom);
    expect(codeOf(() => addTask(r, 'h', 'one-more', 'overflow', at(100)))).toBe('invalid_state');
    const fewer = ok(removeTask(r, 'h', 't0', at(101)));
    expect(ok(addTask(fewer, 'h', 'one-more', 'fits again', at(102))).tasks).toHaveLength(LIMITS.tasksPerRoom);
  });
});

describe('updateTask', () => {
  it('updates title and/or done and emits task_updated with the full task', () => {
    const r0 = ok(addTask(duo(), 'h', 't1', 'Draft', at(1_000)));
    const o1 = updateTask(r0, 'b', { task_id: 't1', done: true }, at(2_000));
    const t1 = { id: 't1', title: 'Draft', done: true, created_by: 'h', created_at: at(1_000) };
    expect(o1.result).toEqual({ task: t1 });
    expect(o1.events).toEqual([{ seq: r0.seq + 1, event: 'task_updated', data: { task: t1 } }]);
    const o2 = updateTask(ok(o1), 'h', { task_id: 't1', title: 'Final' }, at(3_000));
    expect(ok(o2).tasks).toEqual([{ ...t1, title: 'Final' }]);
    const o3 = updateTask(ok(o2), 'h', { task_id: 't1', title: 'Again', done: false }, at(4_000));
    expect(o3.result.task).toEqual({ ...t1, title: 'Again', done: false });
  });

  it('an unknown task is not_found; a stranger is not_in_session', () => {
    const r = ok(addTask(duo(), 'h', 't1', 'Draft', at(1_000)));
    expect(codeOf(() => updateTask(r, 'h', { task_id: 'nope', done: true }, at(2_000)))).toBe('not_found');
    expect(codeOf(() => updateTask(r, 'zz', { task_id: 't1', done: true }, at(2_000)))).toBe('not_in_session');
  });
});

describe('removeTask', () => {
  it('removes the task and emits task_removed with it', () => {
    let r = ok(addTask(duo(), 'b', 't1', 'one', at(1)));
    r = ok(addTask(r, 'h', 't2', 'two', at(2)));
    const o = removeTask(r, 'b', 't1', at(3));
    const t1 = { id: 't1', title: 'one', done: false, created_by: 'b', created_at: at(1) };
    expect(o.result).toEqual({ task: t1 });
    expect(o.events).toEqual([{ seq: r.seq + 1, event: 'task_removed', data: { task: t1 } }]);
    expect(ok(o).tasks.map((t) => t.id)).toEqual(['t2']);
  });

  it('only the task\'s author or the host removes it: anyone else is not_host, and nothing changes', () => {
    let r = withJoined(hostedRoom(), [['b', T0], ['c', T0]]);
    r = ok(addTask(r, 'b', 'tb', 'by b', at(1)));
    r = ok(addTask(r, 'h', 'th', 'by h', at(2)));
    expect(codeOf(() => removeTask(r, 'c', 'tb', at(3)))).toBe('not_host');
    expect(codeOf(() => removeTask(r, 'b', 'th', at(3)))).toBe('not_host');
    expect(r.tasks.map((t) => t.id)).toEqual(['tb', 'th']);
    expect(ok(removeTask(r, 'b', 'tb', at(4))).tasks.map((t) => t.id)).toEqual(['th']);
    expect(ok(removeTask(r, 'h', 'tb', at(4))).tasks.map((t) => t.id)).toEqual(['th']);
    // Ticking a goal off stays open to everyone.
    expect(ok(updateTask(r, 'c', { task_id: 'tb', done: true }, at(5))).tasks[0]!.done).toBe(true);
  });

  it('an unknown (or already removed) task is not_found; a stranger is not_in_session', () => {
    const r = ok(removeTask(ok(addTask(duo(), 'h', 't1', 'one', at(1))), 'h', 't1', at(2)));
    expect(codeOf(() => removeTask(r, 'h', 't1', at(3)))).toBe('not_found');
    expect(codeOf(() => removeTask(r, 'zz', 't1', at(3)))).toBe('not_in_session');
  });
});

describe('task events for the room history', () => {
  it('a recorded task_added keeps the task as it was added, after later updates', () => {
    const o1 = addTask(duo(), 'h', 't1', 'Original', at(1_000));
    const r1 = ok(o1);
    ok(updateTask(r1, 'h', { task_id: 't1', title: 'Renamed', done: true }, at(2_000)));
    r1.tasks[0]!.title = 'mutated after the fact';
    const added = o1.events.find((e) => e.event === 'task_added')!;
    // A client resuming from before the add replays task_added, then task_updated.
    expect(added.data).toEqual({ task: { id: 't1', title: 'Original', done: false, created_by: 'h', created_at: at(1_000) } });
  });

  it('the result of addTask is not the stored task (editing it leaves the room alone)', () => {
    const o = addTask(duo(), 'h', 't1', 'Original', at(1_000));
    o.result.task.title = 'mutated by caller';
    expect(ok(o).tasks[0]!.title).toBe('Original');
  });
});
