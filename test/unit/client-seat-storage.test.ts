/** Seat storage adapters: memory, Web Storage (localStorage / sessionStorage), any { get, set, delete }, async too. */
import { describe, expect, it } from 'vitest';
import { SeatStore, resolveStorage, webStorage, type KeyValueStore } from '../../src/client/seat-storage.js';

const seat = { room_code: 'ABC234', participant_id: 'p1', resume_token: 't'.repeat(32), last_seq: 7 };

/** A minimal Web Storage, as in a browser. */
class FakeWebStorage {
  readonly items = new Map<string, string>();
  failWrites = false;
  get length() {
    return this.items.size;
  }
  getItem(k: string) {
    return this.items.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    if (this.failWrites) throw new DOMException('quota', 'QuotaExceededError');
    this.items.set(k, v);
  }
  removeItem(k: string) {
    this.items.delete(k);
  }
  clear() {
    this.items.clear();
  }
  key(i: number) {
    return [...this.items.keys()][i] ?? null;
  }
}

async function roundTrip(store: KeyValueStore) {
  const seats = new SeatStore(store, 'k');
  expect(await seats.get()).toBeNull();
  await seats.set(seat);
  expect(await seats.get()).toEqual(seat);
  await seats.set({ ...seat, last_seq: 9 });
  expect((await seats.get())!.last_seq).toBe(9);
  await seats.delete();
  expect(await seats.get()).toBeNull();
}

describe('seat storage', () => {
  it('memory (the default) keeps the seat for this client only', async () => {
    await roundTrip(resolveStorage(undefined));
    await roundTrip(resolveStorage('memory'));
    const a = new SeatStore(resolveStorage('memory'));
    const b = new SeatStore(resolveStorage('memory'));
    await a.set(seat);
    expect(await b.get()).toBeNull();
  });

  it('localStorage and sessionStorage by name, as JSON under the key', async () => {
    for (const name of ['localStorage', 'sessionStorage'] as const) {
      const fake = new FakeWebStorage();
      (globalThis as Record<string, unknown>)[name] = fake;
      try {
        await roundTrip(resolveStorage(name));
        await new SeatStore(resolveStorage(name)).set(seat);
        expect(JSON.parse(fake.getItem('focusroom.seat')!)).toEqual(seat);
      } finally {
        delete (globalThis as Record<string, unknown>)[name];
      }
    }
  });

  it('a named Web Storage that does not exist (Node) or cannot be read keeps the seat in memory, so the README\'s code runs everywhere', async () => {
    expect('localStorage' in globalThis).toBe(false);
    await roundTrip(resolveStorage('localStorage'));
    await roundTrip(resolveStorage('sessionStorage'));
    Object.defineProperty(globalThis, 'localStorage', { configurable: true, get: () => { throw new Error('SecurityError'); } });
    try {
      await roundTrip(resolveStorage('localStorage'));
    } finally {
      delete (globalThis as Record<string, unknown>).localStorage;
    }
  });

  it('a full or disabled Web Storage does not throw: the seat just is not kept', async () => {
    const fake = new FakeWebStorage();
    fake.failWrites = true;
    const seats = new SeatStore(webStorage(fake));
    await expect(seats.set(seat)).resolves.toBeUndefined();
    expect(await seats.get()).toBeNull();
  });

  it('any { get, set, delete }, synchronous or async', async () => {
    const data = new Map<string, string>();
    const asyncStore: KeyValueStore = {
      get: async (k) => data.get(k) ?? null,
      set: async (k, v) => void data.set(k, v),
      delete: async (k) => void data.delete(k),
    };
    await roundTrip(asyncStore);
    await roundTrip(new Map());
  });

  it('garbage under the key reads as no seat; a missing last_seq as 0', async () => {
    const data = new Map<string, string>();
    const seats = new SeatStore(data, 'k');
    for (const bad of ['{', 'null', '42', '{"room_code":1}', JSON.stringify({ ...seat, resume_token: null })]) {
      data.set('k', bad);
      expect(await seats.get()).toBeNull();
    }
    data.set('k', JSON.stringify({ room_code: 'ABC234', participant_id: 'p', resume_token: 'x' }));
    expect((await seats.get())!.last_seq).toBe(0);
    const throwing: KeyValueStore = { get: () => { throw new Error('locked'); }, set: () => undefined, delete: () => undefined };
    expect(await new SeatStore(throwing).get()).toBeNull();
  });
});
