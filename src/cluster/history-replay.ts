/**
 * Redis Cluster: sharded pub/sub delivers a broadcast only to subscribers connected when
 * it is published. When a subscriber connection of this instance drops and comes back
 * (a failed-over master, a network blip), the room events published meanwhile never
 * arrive here. Each room's history stream has them all (store `history`), so once ioredis
 * has subscribed again, every room with sockets here is read from the highest `seq` its
 * sockets were sent and what they missed is sent to them, each socket getting the
 * audience's version (the host its own snapshot, `others` events not to their sender).
 * Snapshot events carry the room's current snapshot (the newest state, so clients that
 * keep the highest snapshot `seq` end up right). An event can arrive twice when pub/sub
 * delivers it while the replay is being read: clients drop events whose `seq` is not
 * newer (docs/protocol.md, "Event order").
 */
import type { FastifyBaseLogger } from 'fastify';
import { audienceOf, SNAPSHOT_EVENTS } from '../contract/event-facts.js';
import type { ServerToClientEvents } from '../contract/events.js';
import type { Clock } from '../domain/clock.js';
import { snapshot } from '../domain/snapshot.js';
import { roomKey, type TypedServer } from '../realtime/types.js';
import type { RedisClient } from '../store/redis-keys.js';
import type { RoomStore } from '../store/room-store.js';
import { followRoomOutgoing } from './room-outgoing.js';
/** Passes after a resubscribe: at once-ish, and once more for subscriptions that came back late. */
const REPLAY_AFTER_MS = [250, 2_000];
/** A room further behind than this is left to its clients' own resume (the history is bounded anyway). */
const MAX_REPLAY = 64;

type Emit = (event: keyof ServerToClientEvents, payload: object) => void;

export interface HistoryReplay {
  /** Replays now (tests, and the subscriber's reconnect events); resolves with the events sent. */
  replay(): Promise<number>;
}

export function replayMissedOnResubscribe(sub: RedisClient, io: TypedServer, store: RoomStore, clock: Clock, log: FastifyBaseLogger): HistoryReplay {
  const nsp = io.of('/');
  /** Highest room-event seq sent to this instance's sockets, per room with sockets here. */
  const sent = new Map<string, number>();
  followRoomOutgoing(io, {
    sent(code, _event, payload) {
      const seq = (payload as { seq?: unknown } | undefined)?.seq;
      if (code !== null && typeof seq === 'number' && seq > (sent.get(code) ?? -1)) sent.set(code, seq);
    },
    gone: (code) => sent.delete(code),
  });

  const replayRoom = async (code: string): Promise<number> => {
    const last = sent.get(code);
    if (last === undefined) return 0;
    const room = await store.get(code);
    if (!room || room.seq <= last) return 0;
    const history = await store.history(code, last, MAX_REPLAY);
    if (!history) return 0;
    const now = clock.now();
    let n = 0;
    for (const e of history.events) {
      // Sent meanwhile (by pub/sub catching up, or an earlier pass): not again.
      if (e.seq <= (sent.get(code) ?? -1) || e.seq > room.seq) continue;
      for (const id of nsp.adapter.rooms.get(roomKey(code)) ?? []) {
        const socket = nsp.sockets.get(id);
        const viewer = socket?.data.participantId;
        if (!socket || !viewer) continue;
        const audience = audienceOf(e.event);
        if (audience === 'others' && e.data.participant_id === viewer) continue;
        const data = SNAPSHOT_EVENTS.has(e.event) ? { ...e.data, seq: e.seq, session: snapshot(room, now, viewer) } : { ...e.data, seq: e.seq };
        (socket.emit.bind(socket) as Emit)(e.event, data);
        n++;
      }
      sent.set(code, e.seq);
    }
    return n;
  };

  const replay = async (): Promise<number> => {
    let total = 0;
    for (const code of [...sent.keys()]) {
      try {
        total += await replayRoom(code);
      } catch (err) {
        log.warn({ err, room: code }, 'could not replay room events missed during a resubscribe');
      }
    }
    if (total > 0) log.info({ events: total }, 'replayed room events missed while the adapter resubscribed');
    return total;
  };

  let pending: NodeJS.Timeout[] = [];
  const schedule = () => {
    for (const t of pending) clearTimeout(t);
    pending = REPLAY_AFTER_MS.map((ms) => setTimeout(() => void replay(), ms).unref());
  };
  // ioredis (sharded subscribers): `-node` when a subscriber connection ends, `subscribersReady` once it has subscribed again.
  for (const event of ['-node', 'subscribersReady', 'ready']) sub.on(event, schedule);
  return { replay };
}
