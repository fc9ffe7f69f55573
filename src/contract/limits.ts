/** Protocol bounds: the one place the wire limits are defined (schemas and docs read them). */
export const LIMITS = {
  userNameMax: 40,
  taskTitleMax: 200,
  /** Title of a (scheduled) session. */
  sessionTitleMax: 80,
  /** How far ahead `starts_at` may lie: 30 days. */
  scheduleAheadMaxMs: 30 * 24 * 60 * 60 * 1000,
  tasksPerRoom: 50,
  /** `set_intention` text and `set_recap` note, in characters (code points). */
  intentionMax: 140,
  recapNoteMax: 280,
  /** How long after a focus round ends its recap may be given. */
  recapWindowMs: 10 * 60 * 1000,
  /** NO_SHOW_GRACE_MS default: a booked seat not connected 5 min after the start is a no-show. */
  noShowGraceDefault: 5 * 60 * 1000,
  sessionDurationMin: 1_000,
  sessionDurationMax: 4 * 60 * 60 * 1000,
  sessionDurationDefault: 25 * 60 * 1000,
  breakDurationMin: 1_000,
  breakDurationMax: 60 * 60 * 1000,
  breakDurationDefault: 5 * 60 * 1000,
  roundsMin: 1,
  roundsMax: 12,
  maxParticipantsMin: 2,
  maxParticipantsMax: 50,
  /**
   * Room events each room keeps (at least): its history for GET /sessions/:code/events and
   * the `missed` replay of `resume_session { last_seq }` (one log, many readers).
   */
  roomHistorySize: 1_000,
  /** Largest Socket.IO frame accepted, so one client cannot make the server buffer megabytes. */
  maxFrameBytes: 16 * 1024,
} as const;

/** Room-code alphabet: no 0/O, 1/I/L look-alikes. */
export const ROOM_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const ROOM_CODE_LENGTH = 6;
