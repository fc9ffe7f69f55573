/**
 * The task-list changes a seat makes, shared by the socket handlers and the REST routes:
 * one pure change per operation, applied through RoomService.apply by both, so a REST
 * call and its socket twin validate, commit, broadcast and bump `seq` the same way.
 */
import type { TaskView } from '../contract/events.js';
import type { AddTaskInput, RemoveTaskInput, UpdateTaskInput } from '../contract/schemas.js';
import type { Outcome } from './draft.js';
import type { Room } from './room-state.js';
import { addTask, removeTask, updateTask } from './tasks.js';
import { newTaskId } from './tokens.js';

/** A change made by one seat: the room, who, and when. */
export type SeatChange<T> = (room: Room, participantId: string, now: number) => Outcome<T>;
export type TaskResult = { task: TaskView };

/** The id is drawn once, outside the change, which may run again on a store conflict. */
export function addTaskChange(input: AddTaskInput): SeatChange<TaskResult> {
  const taskId = newTaskId();
  return (room, pid, now) => addTask(room, pid, taskId, input.title, now);
}

export const updateTaskChange =
  (input: UpdateTaskInput): SeatChange<TaskResult> =>
  (room, pid, now) =>
    updateTask(room, pid, input, now);

export const removeTaskChange =
  (input: RemoveTaskInput): SeatChange<TaskResult> =>
  (room, pid, now) =>
    removeTask(room, pid, input.task_id, now);

/** Replies carry the room's `seq` after the change, so a client's `last_seq` stays current. */
export const withSeq = <T extends object>(outcome: Outcome<T>): T & { seq: number } => ({ ...outcome.result, seq: outcome.room?.seq ?? 0 });
