/**
 * What the store of record keeps of one completed focus round: the room, the round and
 * every participant's result. Produced by the domain at the boundary that completes the
 * round, so it carries exactly the numbers the room's `session_completed` event carried.
 * The natural key is (room_id, run_started_at, round, participant_id): a room restarted
 * after completion begins a new run, and its round 1 is a different round.
 */
import type { ParticipantResult } from '../contract/events.js';

export interface RoundResultRecord extends ParticipantResult {
  /** Who this is across rooms ('sub:…' or 'key:…', see identity.ts); null = anonymous. */
  identity: string | null;
  /** What the participant set out to do, as it stood when the round ended (null when none). */
  intention: string | null;
}

export interface RoundRecord {
  room_id: string;
  room_code: string;
  title: string | null;
  /** When the run this round belongs to started (the host's start): part of the natural key. */
  run_started_at: number;
  round: number;
  started_at: number;
  ended_at: number;
  /** The round's planned focus length (session_duration). */
  planned_ms: number;
  results: RoundResultRecord[];
}
