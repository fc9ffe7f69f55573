/** Changes a seated participant makes: countdown, settings, status, tasks. */
import { AppError, RoomNotFoundError } from '../../contract/errors.js';
import type { SessionSnapshot, TaskView } from '../../contract/events.js';
import type { AddTaskInput, RemoveTaskInput, SetIntentionInput, SetRecapInput, UpdateSettingsInput, UpdateStatusInput, UpdateTaskInput } from '../../contract/schemas.js';
import type { RecapView } from '../../contract/events.js';
import { setIntention } from '../../domain/intention.js';
import { setRecap } from '../../domain/recap.js';
import { pause, resumeTimer, start, updateSettings, updateStatus } from '../../domain/countdown.js';
import type { Outcome } from '../../domain/draft.js';
import type { Room } from '../../domain/room-state.js';
import { snapshot } from '../../domain/snapshot.js';
import { checkStartsAt } from '../../domain/schedule.js';
import { applyMovingBookings } from '../../rooms/booking-move.js';
import type { HandlerContext } from '../handler-context.js';
import { detach, requireSeat } from '../seat.js';
import { addTaskChange, removeTaskChange, updateTaskChange, withSeq } from '../../domain/task-changes.js';

/**
 * Applies a change to the caller's room. A room that has vanished under a seated socket
 * (expired, or the seat timed out) unseats it and answers `not_in_session`.
 */
async function applyToSeat<T>(ctx: HandlerContext, change: (room: Room, participantId: string, now: number) => Outcome<T>): Promise<Outcome<T>> {
  const seat = requireSeat(ctx.socket);
  try {
    return await ctx.rooms.apply(seat.code, (room) => change(room, seat.participantId, ctx.clock.now()));
  } catch (err) {
    // Only the room itself being gone unseats; a missing task is an ordinary not_found.
    if (err instanceof RoomNotFoundError) {
      detach(ctx.socket);
      throw new AppError('not_in_session', 'your session has ended');
    }
    if (err instanceof AppError && err.code === 'not_in_session') detach(ctx.socket);
    throw err;
  }
}

async function withSnapshot(ctx: HandlerContext, change: (room: Room, participantId: string, now: number) => Outcome): Promise<{ session: SessionSnapshot }> {
  const outcome = await applyToSeat(ctx, change);
  return { session: snapshot(outcome.room!, ctx.clock.now(), ctx.socket.data.participantId) };
}

/** A host control, bounded per room (RateLimits.checkRoomControl): charged only when it went through. */
async function control<R>(ctx: HandlerContext, run: () => Promise<R>): Promise<R> {
  const seat = requireSeat(ctx.socket);
  await ctx.limits.checkRoomControl(seat.code);
  const reply = await run();
  await ctx.limits.roomControlDone(seat.code);
  return reply;
}

export const startSession = (ctx: HandlerContext) => control(ctx, () => withSnapshot(ctx, start));
export const pauseSession = (ctx: HandlerContext) => control(ctx, () => withSnapshot(ctx, pause));
export const resumeTimerHandler = (ctx: HandlerContext) => control(ctx, () => withSnapshot(ctx, resumeTimer));
export async function updateSettingsHandler(ctx: HandlerContext, input: UpdateSettingsInput): Promise<{ session: SessionSnapshot }> {
  // Wrong times are malformed payloads, answered before any state check (the budget too).
  if (input.starts_at !== undefined && input.starts_at !== null) checkStartsAt(input.starts_at, ctx.clock.now());
  return control(ctx, () => updateSettingsNow(ctx, input));
}
/** Settings that move the room's window, so every booked identity is checked again. */
const movesWindow = (input: UpdateSettingsInput): boolean =>
  input.starts_at !== undefined || input.session_duration !== undefined || input.rounds !== undefined || input.break_duration !== undefined;

/**
 * update_settings. A change of the window (reschedule, unschedule, another length) first
 * moves every booked identity's entry to the new window (rooms/booking-move.ts).
 */
async function updateSettingsNow(ctx: HandlerContext, input: UpdateSettingsInput): Promise<{ session: SessionSnapshot }> {
  // Wrong times are malformed payloads, answered before any state check.
  if (input.starts_at !== undefined && input.starts_at !== null) checkStartsAt(input.starts_at, ctx.clock.now());
  const seat = requireSeat(ctx.socket);
  if (!movesWindow(input)) return withSnapshot(ctx, (room, pid, now) => updateSettings(room, pid, input, now));
  return applyMovingBookings(
    ctx,
    seat.code,
    (room, now) => updateSettings(room, seat.participantId, input, now),
    (change) => withSnapshot(ctx, (room, _pid, now) => change(room, now)),
  );
}

export async function updateStatusHandler(ctx: HandlerContext, input: UpdateStatusInput): Promise<{ status: string; seq: number }> {
  return withSeq(await applyToSeat(ctx, (room, pid, now) => updateStatus(room, pid, input.status, now)));
}

export async function addTaskHandler(ctx: HandlerContext, input: AddTaskInput): Promise<{ task: TaskView; seq: number }> {
  return withSeq(await applyToSeat(ctx, addTaskChange(input)));
}

export async function updateTaskHandler(ctx: HandlerContext, input: UpdateTaskInput): Promise<{ task: TaskView; seq: number }> {
  return withSeq(await applyToSeat(ctx, updateTaskChange(input)));
}

export async function removeTaskHandler(ctx: HandlerContext, input: RemoveTaskInput): Promise<{ task: TaskView; seq: number }> {
  return withSeq(await applyToSeat(ctx, removeTaskChange(input)));
}

export async function setIntentionHandler(ctx: HandlerContext, input: SetIntentionInput): Promise<{ intention: string; seq: number }> {
  return withSeq(await applyToSeat(ctx, (room, pid, now) => setIntention(room, pid, input.text, now)));
}

export async function setRecapHandler(ctx: HandlerContext, input: SetRecapInput): Promise<{ recap: RecapView; seq: number }> {
  return withSeq(await applyToSeat(ctx, (room, pid, now) => setRecap(room, pid, input, now)));
}
