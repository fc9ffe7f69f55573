/**
 * Per-connection settings that change no room: clock samples and quiet mode (docs/protocol.md "Clock sync and quiet clients").
 * Neither bumps a room's `seq`; both work before joining and carry over every join.
 */
import type { TimeSyncResult } from '../../contract/events.js';
import type { SetTicksInput, TimeSyncInput } from '../../contract/schemas.js';
import { roomTimer } from '../../domain/snapshot.js';
import type { HandlerContext } from '../handler-context.js';
import { quietKey } from '../types.js';

/** The client measures the round trip around this ack and keeps the fastest sample's offset. */
export async function timeSync(ctx: HandlerContext, input: TimeSyncInput): Promise<TimeSyncResult> {
  return { t0: input.t0, server_now: ctx.clock.now() };
}

export async function setTicks(ctx: HandlerContext, input: SetTicksInput): Promise<{ enabled: boolean }> {
  const { socket } = ctx;
  const quiet = !input.enabled;
  if (socket.data.quiet === quiet) return { enabled: input.enabled };
  socket.data.quiet = quiet;
  const code = socket.data.roomCode;
  if (!code) return { enabled: input.enabled };
  if (quiet) {
    socket.join(quietKey(code));
    return { enabled: false };
  }
  socket.leave(quietKey(code));
  // The room may have had only quiet sockets here, and so no timer: start one now.
  const room = await ctx.rooms.get(code);
  if (room) ctx.ticker.sync(roomTimer(room));
  return { enabled: true };
}
