/**
 * Where the seat (room code, participant id, resume token, last seq) is kept between
 * connections and page loads. Anything with `get`/`set`/`delete` of string values works,
 * synchronous or not: a `Map` (memory), Web Storage (wrapped), React Native's
 * AsyncStorage, a file.
 */
export interface Seat {
  room_code: string;
  participant_id: string;
  resume_token: string;
  last_seq: number;
}

export interface KeyValueStore {
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  set(key: string, value: string): unknown;
  delete(key: string): unknown;
}

/** The part of the Web Storage API (`localStorage`, `sessionStorage`) the SDK uses. */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export type StorageOption = 'memory' | 'localStorage' | 'sessionStorage' | KeyValueStore;

export const DEFAULT_SEAT_KEY = 'focusroom.seat';

/** `localStorage` / `sessionStorage` (or any Web Storage) as a KeyValueStore; storage errors (quota, disabled) are ignored. */
export function webStorage(storage: WebStorageLike): KeyValueStore {
  return {
    get: (key) => {
      try {
        return storage.getItem(key);
      } catch {
        return null;
      }
    },
    set: (key, value) => {
      try {
        storage.setItem(key, value);
      } catch {
        /* quota or disabled storage: the seat lives for this connection only */
      }
    },
    delete: (key) => {
      try {
        storage.removeItem(key);
      } catch {
        /* as above */
      }
    },
  };
}

export function resolveStorage(option: StorageOption | undefined): KeyValueStore {
  if (option === undefined || option === 'memory') return new Map<string, string>();
  if (option === 'localStorage' || option === 'sessionStorage') {
    // Where there is no Web Storage (Node, unless started with --localstorage-file; a
    // sandboxed frame, where reading it throws) the seat is kept in memory: it still
    // survives reconnects and server restarts for the life of the process, and the same
    // code runs in browsers and Node. Pass a { get, set, delete } store to keep it longer.
    let storage: WebStorageLike | undefined;
    try {
      storage = (globalThis as Record<string, unknown>)[option] as WebStorageLike | undefined;
    } catch {
      storage = undefined;
    }
    return storage ? webStorage(storage) : new Map<string, string>();
  }
  return option;
}

/** Reads and writes one seat as JSON under `key`; a value that is not a seat reads as none. */
export class SeatStore {
  constructor(
    private readonly store: KeyValueStore,
    private readonly key = DEFAULT_SEAT_KEY,
  ) {}

  async get(): Promise<Seat | null> {
    let raw: string | null | undefined;
    try {
      raw = await this.store.get(this.key);
    } catch {
      return null;
    }
    if (typeof raw !== 'string') return null;
    try {
      const seat = JSON.parse(raw) as Partial<Seat> | null;
      if (!seat || typeof seat.room_code !== 'string' || typeof seat.participant_id !== 'string' || typeof seat.resume_token !== 'string') return null;
      return { room_code: seat.room_code, participant_id: seat.participant_id, resume_token: seat.resume_token, last_seq: Number.isInteger(seat.last_seq) ? seat.last_seq! : 0 };
    } catch {
      return null;
    }
  }

  async set(seat: Seat): Promise<void> {
    await this.store.set(this.key, JSON.stringify(seat));
  }

  async delete(): Promise<void> {
    await this.store.delete(this.key);
  }
}
