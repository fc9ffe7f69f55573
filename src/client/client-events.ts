/**
 * What a FocusroomClient reports: its listener map (`on()`), connection states, and the
 * payloads of its own events (seat lost, resumed).
 */
import type { MissedEvent, RoomEventName, RoomEvents, SessionSnapshot, TimeUpdatePayload } from '../contract/events.js';
import type { ClockSample } from './clock-sync.js';

/** `connecting` before the first connect, `reconnecting` while it is lost, `offline` when the seat was taken over elsewhere. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'closed';

export interface SeatLostEvent {
  /**
   * `taken_over`: the seat was resumed by another connection (another tab or device); this
   * client does not fight over it and stays offline until `reconnect()`. `expired`: the
   * server no longer knows the seat (grace over, room gone). `timeout` / `kicked`: the room
   * said so (participant_left). `closed`: room_closed.
   */
  reason: 'taken_over' | 'expired' | 'timeout' | 'kicked' | 'closed';
  room_code: string;
}

export interface ResumedEvent {
  session: SessionSnapshot;
  /** The room events this client missed, oldest first, already applied to `session`. */
  missed: MissedEvent[];
  /** False when the gap was longer than the room's log: `session` is the truth, `missed` is empty. */
  missed_complete: boolean;
}

/** Everything `on()` can listen to: every room event, ticks, and the client's own. */
export type ClientEvents = { [K in RoomEventName]: (payload: RoomEvents[K]) => void } & {
  time_update: (payload: TimeUpdatePayload) => void;
  /** After every reconnect that got the seat back: once per resume. */
  resumed: (event: ResumedEvent) => void;
  /** `session` changed (any event, ack or resume); null when the client left its room. */
  change: (session: SessionSnapshot | null) => void;
  connection: (state: ConnectionState) => void;
  seat_lost: (event: SeatLostEvent) => void;
  /** A clock sync round finished (on every connect). */
  clock: (sample: ClockSample) => void;
};
export type ClientEventKey = keyof ClientEvents;
