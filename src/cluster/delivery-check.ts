/**
 * Cluster mode: a lost subscription is noticed even when nothing tells us. Every
 * `CHECK_EVERY_MS` each instance reads the newest `seq` of every room it has sockets in
 * (one script per store partition, `RedisRoomStore.latestSeqs`) and compares it with its
 * sockets' cursors (delivery-gate.ts). A room still behind `RECHECK_AFTER_MS` later (not
 * just an event in flight) is repaired from its history. A room the store no longer has
 * on two checks in a row (a master restarted empty, or a slot that came back empty
 * after losing its master and replica) is closed for its sockets as lost.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../metrics.js';
import type { RoomService } from '../rooms/room-service.js';
import type { Ticker } from '../realtime/ticker.js';
import type { TypedServer } from '../realtime/types.js';
import type { DeliveryGate, RepairCause } from './delivery-gate.js';
import { closeRoomsAsLost } from './lost-rooms.js';

/** At least every 2 s; every second so that a loss is repaired within 3 s. */
const CHECK_EVERY_MS = 1_000;
/** A room behind the store is looked at again after this, so an event in flight is no repair. */
const RECHECK_AFTER_MS = 150;

export interface LatestSeqs {
  latestSeqs(codes: readonly string[]): Promise<Map<string, number | null>>;
}

export interface DeliveryCheck {
  /** Checks now (`cause` labels what it repairs); resolves when the reads are done. */
  check(cause?: RepairCause): Promise<void>;
  /** Checks soon (a subscriber came back): a few reconnect events in a row make one check. */
  soon(): void;
  stop(): void;
}

export function startDeliveryCheck(
  gate: DeliveryGate,
  store: LatestSeqs,
  io: TypedServer,
  rooms: RoomService,
  ticker: Ticker,
  metrics: Metrics,
  log: FastifyBaseLogger,
): DeliveryCheck {
  /** Rooms the store did not have at the last check. */
  let missing = new Set<string>();
  let running = false;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms).unref();
    timers.add(t);
  };

  const check = async (cause: RepairCause = 'check'): Promise<void> => {
    if (running) return;
    running = true;
    try {
      const codes = gate.localRooms();
      if (codes.length === 0) return;
      const latest = await store.latestSeqs(codes);
      const gone = new Set<string>();
      const lost: string[] = [];
      const behind: [string, number][] = [];
      for (const [code, seq] of latest) {
        if (seq === null) {
          if (missing.has(code)) lost.push(code);
          else gone.add(code);
          continue;
        }
        const low = gate.lowestCursor(code);
        if (low !== null && low < seq) behind.push([code, seq]);
      }
      missing = gone;
      if (lost.length > 0) {
        closeRoomsAsLost(io, rooms, ticker, lost);
        for (const code of lost) gate.forget(code);
        metrics.deliveryRepairs.inc({ cause: 'lost' }, lost.length);
        log.warn({ rooms: lost.length }, 'rooms gone from the store (restarted empty): clients told room_closed');
      }
      if (behind.length > 0) {
        later(RECHECK_AFTER_MS, () => {
          for (const [code, seq] of behind) {
            const low = gate.lowestCursor(code);
            if (low !== null && low < seq) gate.repair(code, cause);
          }
        });
      }
    } catch (err) {
      log.warn({ err }, 'delivery check failed');
    } finally {
      running = false;
    }
  };

  const every = setInterval(() => void check(), CHECK_EVERY_MS).unref();
  return {
    check,
    soon: () => later(250, () => void check('resubscribe')),
    stop() {
      clearInterval(every);
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
