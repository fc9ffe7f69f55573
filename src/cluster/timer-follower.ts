/**
 * Cluster mode: this instance's tickers follow the room broadcasts its own sockets get.
 *
 * A room's countdown can change on any instance; the ticker here must re-align for the
 * local sockets. The snapshot events (session_started, session_paused, ...) carry the
 * room's status, ends_at and seq and reach every instance with sockets in the room
 * through the adapter's Redis stream, which replays what a briefly disconnected instance
 * missed. So the ticker is synced from those, in `seq` order (a late, older event never
 * undoes a newer one), instead of from `serverSideEmit`, whose pub/sub messages are lost
 * during such a blip. Instances with no socket in the room need no timer at all.
 */
import { SNAPSHOT_BEARING_EVENTS, type ServerEventName } from '../contract/event-facts.js';
import type { SessionSnapshot } from '../contract/events.js';
import { timerOf } from '../domain/snapshot.js';
import type { Ticker } from '../realtime/ticker.js';
import type { TypedServer } from '../realtime/types.js';
import { followRoomOutgoing } from './room-outgoing.js';

export function followTimersInBroadcasts(io: TypedServer, ticker: Ticker): void {
  /** Highest seq applied per room with local sockets; dropped when the room has none. */
  const lastSeq = new Map<string, number>();
  followRoomOutgoing(io, {
    sent(_code, event, payload) {
      const p = payload as { session?: SessionSnapshot; room_code?: string } | undefined;
      if (event === 'room_closed' && p?.room_code) {
        ticker.stop(p.room_code);
        return;
      }
      // Room snapshot events, and the create/join/resume replies (the snapshot a socket
      // starts from): ordered by the snapshot's own seq, the version of the room state.
      if (!SNAPSHOT_BEARING_EVENTS.has(event as ServerEventName)) return;
      const s = p?.session;
      if (!s || typeof s.seq !== 'number' || typeof s.room_code !== 'string') return;
      if (s.seq < (lastSeq.get(s.room_code) ?? -1)) return;
      lastSeq.set(s.room_code, s.seq);
      ticker.sync(timerOf(s));
    },
    gone: (code) => lastSeq.delete(code),
  });
}
