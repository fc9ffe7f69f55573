/** The room's shared task list (goal board). */
import { AppError } from '../contract/errors.js';
import type { TaskView } from '../contract/events.js';
import { LIMITS } from '../contract/limits.js';
import type { UpdateTaskInput } from '../contract/schemas.js';
import { Draft, type Outcome } from './draft.js';
import { findParticipant, type Room } from './room-state.js';

function requireMember(room: Room, participantId: string): void {
  if (!findParticipant(room, participantId)) throw new AppError('not_in_session', 'you are not in this session');
}

export function addTask(room: Room, participantId: string, taskId: string, title: string, now: number): Outcome<{ task: TaskView }> {
  requireMember(room, participantId);
  if (room.tasks.length >= LIMITS.tasksPerRoom) throw new AppError('invalid_state', `a room holds at most ${LIMITS.tasksPerRoom} tasks`);
  const d = Draft.of(room, now);
  const task: TaskView = { id: taskId, title, done: false, created_by: participantId, created_at: now };
  // Separate copies: the list, the logged event and the reply must not alias each other.
  d.room.tasks.push({ ...task });
  d.emit('task_added', { task: { ...task } });
  return d.done({ task });
}

export function updateTask(room: Room, participantId: string, input: UpdateTaskInput, now: number): Outcome<{ task: TaskView }> {
  requireMember(room, participantId);
  if (!room.tasks.some((t) => t.id === input.task_id)) throw new AppError('not_found', 'no such task');
  const d = Draft.of(room, now);
  const task = d.room.tasks.find((t) => t.id === input.task_id)!;
  if (input.title !== undefined) task.title = input.title;
  if (input.done !== undefined) task.done = input.done;
  d.emit('task_updated', { task: { ...task } });
  return d.done({ task: { ...task } });
}

export function removeTask(room: Room, participantId: string, taskId: string, now: number): Outcome<{ task: TaskView }> {
  requireMember(room, participantId);
  const existing = room.tasks.find((t) => t.id === taskId);
  if (!existing) throw new AppError('not_found', 'no such task');
  // Anyone may tick a goal off, but only its author or the host takes it off the board.
  if (existing.created_by !== participantId && room.host_id !== participantId) {
    throw new AppError('not_host', 'only the participant who added this task, or the host, can remove it');
  }
  const d = Draft.of(room, now);
  d.room.tasks = d.room.tasks.filter((t) => t.id !== taskId);
  d.emit('task_removed', { task: { ...existing } });
  return d.done({ task: { ...existing } });
}
