/**
 * `focusroom/client`: the SDK for apps (docs/sdk.md). Imports only the wire
 * contract and socket.io-client, so it runs in browsers and Node alike.
 */
export { connect, FocusroomClient } from './client.js';
export type {
  ClientEventKey,
  ClientEvents,
  ClientSocket,
  ConnectionState,
  ConnectOptions,
  PayloadOf,
  ResultOf,
  ResumedEvent,
  SeatLostEvent,
} from './client.js';
export { ClockSync, sampleOf, type ClockSample, type TimeSyncTransport } from './clock-sync.js';
export { FocusroomError, type ClientErrorCode } from './errors.js';
export { subscribePush, unsubscribePush, vapidPublicKey, type PushSubscriptionJson } from './push.js';
export type { PushPayload } from '../contract/push-schemas.js';
export { SessionState } from './session-state.js';
export { DEFAULT_SEAT_KEY, SeatStore, resolveStorage, webStorage, type KeyValueStore, type Seat, type StorageOption, type WebStorageLike } from './seat-storage.js';
export type { ClientStatus, UpdateSettingsInput, UpdateTaskInput } from '../contract/schemas.js';
export type { ErrorCode } from '../contract/errors.js';
export type {
  CreateSessionPayload,
  MissedEvent,
  ParticipantResult,
  ParticipantView,
  RoomEventName,
  RoomEvents,
  SessionJoinedPayload,
  SessionSnapshot,
  TaskView,
  TimeUpdatePayload,
} from '../contract/events.js';
