/**
 * The due scheduler with an injected clock (the fake timers' clock) and the real memory
 * store shared by two "instances", as two processes share Redis (the store contract is
 * the same, test/contract/room-store.test.ts): a room runs on its instance's timer at the
 * deadline and the look-ahead claim keeps the other instance off it (no second read), a
 * room nobody runs is taken over when the lease ends, within a second, also when the dead
 * instance held the claim, a stale local timer is overridden by the due-queue; and (real
 * time) a burst of rooms due in one millisecond runs in slices with timers in between.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { updateSettings } from '../../src/domain/countdown.js';
import { nextDeadline, runDue } from '../../src/domain/deadlines.js';
import { createRoom } from '../../src/domain/membership.js';
import type { Room } from '../../src/domain/room-state.js';
import { DueScheduler, defaultDueSchedulerOptions, type DueSchedulerOptions } from '../../src/scheduler/due-scheduler.js';
import { MemoryRoomStore } from '../../src/store/memory-room-store.js';
import type { PreparedChange } from '../../src/store/room-store.js';
import { DEFAULT_SETTINGS, person, T0 } from './fixtures.js';

/** The injected clock: Date is faked below, so this is the fake timers' time. */
const clock = { now: () => Date.now() };
const S = T0 + 10_000; // every room's starts_at
const { lookAheadMs, leaseMs, pollMs } = defaultDueSchedulerOptions;
/**
 * When a room claimed ahead (by the first poll whose horizon reached S, at S − lookAheadMs
 * here: polls fall on whole multiples of pollMs from T0) is claimed again by a poll.
 */
const RECLAIM = S - lookAheadMs + leaseMs;
/** The fake timers run a setImmediate queued inside a timer 1 ms later: a slice's fake-time cost. */
const TURN = 1;

const booked = (code: string, startsAt = S): Room =>
  createRoom({ id: `id-${code}`, code, host: person('h'), settings: DEFAULT_SETTINGS, grace_ms: 30_000, ttl_ms: 600_000, starts_at: startsAt }, T0);

interface Run {
  code: string;
  at: number;
  started: boolean;
}

/** One instance's scheduler, running deadlines exactly as RoomService.runDue does (commit, then re-watch). */
class Instance {
  readonly runs: Run[] = [];
  readonly errors: unknown[] = [];
  readonly scheduler: DueScheduler;

  constructor(
    readonly store: MemoryRoomStore,
    options: Partial<DueSchedulerOptions> = {},
    work: () => void = () => {},
    urgent?: () => boolean,
  ) {
    this.scheduler = new DueScheduler(
      store,
      clock,
      async (code) => {
        const outcome = await store.update(code, (room) => runDue(room, clock.now()));
        work();
        this.runs.push({ code, at: clock.now(), started: outcome?.events.some((e) => e.event === 'session_started') ?? false });
        if (outcome?.changed && outcome.room) this.scheduler.watch(code, nextDeadline(outcome.room));
      },
      (err) => this.errors.push(err),
      { ...defaultDueSchedulerOptions, ...options },
      urgent,
    );
  }

  /** A room created here: stored and watched, as RoomService.create does. */
  async create(room: Room): Promise<void> {
    expect(await this.store.create(room)).toBe(true);
    this.scheduler.watch(room.code, nextDeadline(room));
  }

  starts(): Run[] {
    return this.runs.filter((r) => r.started);
  }
}

describe('look-ahead claims (injected clock)', () => {
  let store: MemoryRoomStore;
  let a: Instance;
  let b: Instance;

  beforeEach(() => {
    vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date'] });
    store = new MemoryRoomStore();
    a = new Instance(store);
    b = new Instance(store);
  });
  afterEach(() => {
    a.scheduler.stop();
    b.scheduler.stop();
    vi.useRealTimers();
  });

  it('the creating instance starts its room at starts_at to the millisecond; the other instance never runs it', async () => {
    a.scheduler.start();
    b.scheduler.start();
    await a.create(booked('WATCH1'));
    await vi.advanceTimersByTimeAsync(S - 1 - T0);
    expect(a.runs).toEqual([]);
    // The first poll whose horizon reached S claimed it, lookAheadMs early: it is hidden now.
    expect(await store.claimDue(S, 10, 1_000)).toEqual([]);
    expect(await store.claimDue(RECLAIM + lookAheadMs - 1, 10, 1_000)).toEqual([]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(a.starts()).toEqual([{ code: 'WATCH1', at: S + TURN, started: true }]);
    expect([...a.runs, ...b.runs]).toHaveLength(1);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('a room no instance watches (its creator died) is held under the lease, then found overdue and started by the first poll after it, once', async () => {
    expect(await store.create(booked('ORPHAN'))).toBe(true);
    a.scheduler.start();
    b.scheduler.start();
    await vi.advanceTimersByTimeAsync(RECLAIM - 1 - T0);
    expect([...a.runs, ...b.runs]).toEqual([]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect([...a.runs, ...b.runs]).toEqual([{ code: 'ORPHAN', at: RECLAIM + TURN, started: true }]);
    expect(RECLAIM + TURN - S).toBeLessThan(1_000);
  });

  it('the creating instance killed while holding the look-ahead claim: the survivor takes over when the lease ends, within a second of starts_at', async () => {
    a.scheduler.start();
    await a.create(booked('KILLED'));
    await vi.advanceTimersByTimeAsync(S - lookAheadMs + pollMs - T0);
    expect(await store.claimDue(S, 10, 1_000)).toEqual([]); // a holds it
    a.scheduler.stop(); // kill -9: its timers and its claim's holder are gone, the lease stays
    b.scheduler.start();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(a.runs).toEqual([]);
    expect(b.starts()).toHaveLength(1);
    const lateness = b.starts()[0]!.at - S;
    expect(lateness).toBe(RECLAIM + TURN - S);
    expect(lateness).toBeLessThan(1_000);
    expect(b.runs).toHaveLength(1);
  });

  it('a local timer made stale by a change elsewhere (rescheduled earlier, then that instance died) is overridden by the due-queue', async () => {
    a.scheduler.start();
    const later = S + 5_000;
    await a.create(booked('MOVED1', later));
    // Another instance moves the start up to S, watches it there, and dies before S.
    const moved = await store.update('MOVED1', (room) => updateSettings(room, 'h', { starts_at: S }, T0 + 1_000));
    expect(nextDeadline(moved!.room!)).toBe(S);
    await vi.advanceTimersByTimeAsync(S + 3_000 - T0);
    expect(a.starts()).toEqual([{ code: 'MOVED1', at: RECLAIM + TURN, started: true }]);
    expect(a.runs).toHaveLength(1);
  });

  it('many rooms due in the same millisecond all start on time, once each, and no instance touches the other one’s rooms', async () => {
    a.scheduler.start();
    b.scheduler.start();
    for (let i = 0; i < 300; i++) await (i % 2 ? b : a).create(booked(`R${String(i).padStart(5, '0')}`));
    await vi.advanceTimersByTimeAsync(S + 2_000 - T0);
    const starts = [...a.starts(), ...b.starts()];
    expect(starts).toHaveLength(300);
    expect(new Set(starts.map((r) => r.code)).size).toBe(300);
    expect(a.starts().every((r) => Number(r.code.slice(1)) % 2 === 0)).toBe(true);
    // On time: a few slices (TURN each here) after S.
    expect(Math.min(...starts.map((r) => r.at))).toBe(S + TURN);
    expect(Math.max(...starts.map((r) => r.at))).toBeLessThan(S + 50);
    // One poll claimed the whole second ahead (a full batch claims again at once), which
    // kept the other instance's poll off them: no second run, not even a read.
    expect([...a.runs, ...b.runs]).toHaveLength(300);
  });
});

describe('slices (real time)', () => {
  let store: MemoryRoomStore;
  let instance: Instance | null = null;
  afterEach(() => instance?.scheduler.stop());

  /** Busy for `ms` of real time: a room start's CPU cost. */
  const spin = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };

  async function burst(sliceMs: number, tickAware = false): Promise<{ maxRunsBetweenTicks: number; ticksDuring: number }> {
    store = new MemoryRoomStore();
    // With tickAware, the scheduler is told when the ticker's next callback is due (as
    // app.ts wires Ticker.tickDue): 2 ms after its last one.
    let tickDueAt = Number.POSITIVE_INFINITY;
    instance = new Instance(store, { sliceMs }, () => spin(0.25), tickAware ? () => performance.now() >= tickDueAt : undefined);
    const startsAt = Date.now() + 200;
    const rooms = 200;
    for (let i = 0; i < rooms; i++) {
      const room = createRoom({ id: `id-${i}`, code: `B${String(i).padStart(5, '0')}`, host: person('h'), settings: DEFAULT_SETTINGS, grace_ms: 30_000, ttl_ms: 600_000, starts_at: startsAt }, Date.now());
      await instance.create(room);
    }
    // A running room's ticker: a timer due every millisecond, counting the starts between its callbacks.
    const seen: number[] = [];
    const ticker = setInterval(
      () => {
        seen.push(instance!.runs.length);
        tickDueAt = performance.now() + 2;
      },
      tickAware ? 2 : 1,
    );
    try {
      // Until the ticker has seen every start.
      await vi.waitFor(() => expect(seen.at(-1)).toBe(rooms), { timeout: 10_000, interval: 20 });
    } finally {
      clearInterval(ticker);
    }
    const during = seen.filter((n, i) => n > 0 && (i === 0 || seen[i - 1]! < rooms));
    let max = 0;
    for (let i = 1; i < seen.length; i++) max = Math.max(max, seen[i]! - seen[i - 1]!);
    return { maxRunsBetweenTicks: max, ticksDuring: during.length };
  }

  it('200 rooms due in one millisecond (50 ms of work) start in slices of ~sliceMs; a timer due meanwhile runs between slices', async () => {
    const sliced = await burst(1);
    // 1 ms slices of 0.25 ms starts: 4 per slice (5 with the one that crosses the budget).
    expect(sliced.maxRunsBetweenTicks).toBeLessThanOrEqual(6);
    expect(sliced.ticksDuring).toBeGreaterThan(20);
  });

  it('with no slice budget but told when a tick is due, the burst stops for each tick: a few runs between two 2-ms ticks, not all 200', async () => {
    const aware = await burst(Number.POSITIVE_INFINITY, true);
    // 2 ms of 0.25 ms starts is 8; Node's timers may fire a millisecond or two late.
    expect(aware.maxRunsBetweenTicks).toBeLessThanOrEqual(20);
    expect(aware.ticksDuring).toBeGreaterThan(8);
  });

  it('without the slice budget the same burst runs back to back and the timer waits for all of it (the test can tell)', async () => {
    const unsliced = await burst(Number.POSITIVE_INFINITY);
    expect(unsliced.maxRunsBetweenTicks).toBe(200);
  });
});

describe('prepared runs (injected clock)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date'] });
  });
  afterEach(() => vi.useRealTimers());

  it('booked starts are prepared prepareAheadMs ahead, committed in batches at starts_at; a room changed since starts the ordinary way, once', async () => {
    const { prepareAheadMs, preparedBatch } = defaultDueSchedulerOptions;
    const store = new MemoryRoomStore();
    const a = new Instance(store);
    const prepared = new Map<string, PreparedChange<undefined>>();
    const preparedAt: number[] = [];
    const batches: number[] = [];
    const committed: Run[] = [];
    // What RoomService does (its broadcast aside): the start as of `at`, committed compare-and-set.
    a.scheduler.prepareWith({
      prepare: async (code, at) => {
        const p = await store.prepare(code, (room) => runDue(room, at));
        if (p) prepared.set(code, p);
        preparedAt.push(clock.now());
        return p !== null;
      },
      has: (code) => prepared.has(code),
      runMany: async (codes) => {
        const batch = codes.map((c) => prepared.get(c)!);
        for (const c of codes) prepared.delete(c);
        batches.push(batch.length);
        const written = await store.commitPrepared(batch);
        const left: string[] = [];
        batch.forEach((p, i) => {
          if (!written[i]) return void left.push(p.code);
          committed.push({ code: p.code, at: clock.now(), started: true });
          a.scheduler.watch(p.code, nextDeadline(p.outcome.room!));
        });
        return left;
      },
    });
    // The embedded store's observer gets each prepared start serialized already (not in the burst).
    const observed = new Map<string, string | undefined>();
    store.observeChanges((code, room, json) => {
      if (room?.status === 'active') observed.set(code, json);
    });
    a.scheduler.start();
    const codes = Array.from({ length: 150 }, (_, i) => `PREP${String(i).padStart(3, '0')}`);
    for (const code of codes) await a.create(booked(code));
    await vi.advanceTimersByTimeAsync(S - prepareAheadMs - 1 - T0);
    expect(preparedAt).toEqual([]);
    await vi.advanceTimersByTimeAsync(100);
    expect(preparedAt).toHaveLength(150);
    expect(Math.min(...preparedAt)).toBeGreaterThanOrEqual(S - prepareAheadMs);
    // Another instance changes one room after its start was prepared.
    await store.update('PREP007', (room) => updateSettings(room, 'h', { max_participants: 3 }, clock.now()));
    await vi.advanceTimersByTimeAsync(S - clock.now() + 1_000);
    expect(committed.map((r) => r.code).sort()).toEqual(codes.filter((c) => c !== 'PREP007'));
    expect(Math.max(...batches)).toBeLessThanOrEqual(preparedBatch);
    expect(Math.min(...committed.map((r) => r.at))).toBeGreaterThanOrEqual(S);
    // The changed room lost its compare-and-set and ran the ordinary way, from its new state.
    expect(a.starts().map((r) => r.code)).toEqual(['PREP007']);
    expect((await store.get('PREP007'))!).toMatchObject({ status: 'active', started_at: S, settings: { max_participants: 3 } });
    for (const code of codes) expect((await store.get(code))!.started_at).toBe(S);
    for (const code of codes) expect(observed.get(code)).toBe(code === 'PREP007' ? undefined : JSON.stringify(await store.get(code)));
    expect(a.errors).toEqual([]);
    a.scheduler.stop();
  });
});
