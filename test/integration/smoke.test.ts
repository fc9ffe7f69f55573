import { describe, expect, it } from 'vitest';
import { call, connect, record, roomWith, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';

const server = useSharedServer();

describe('a 2 s countdown end to end', () => {
  it('ticks whole seconds and completes once per client', async () => {
    const [a, b] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code } = await roomWith(a, [b], { session_duration: 2_000 });
    const ticksA = record(a, 'time_update');
    const ticksB = record(b, 'time_update');
    const doneA = record(a, 'session_completed');
    const doneB = record(b, 'session_completed');
    const started = await call(a, 'start_session');
    expect(started.ok).toBe(true);
    const endsAt = started.session.ends_at as number;
    await Promise.all([waitFor(a, 'session_completed', 4_000), waitFor(b, 'session_completed', 4_000)]);
    await new Promise((r) => setTimeout(r, 300)); // window in which a duplicate would show up
    expect(ticksA.map((t) => t.time_left_ms)).toEqual([1000]);
    expect(ticksB.map((t) => t.time_left_ms)).toEqual([1000]);
    expect(ticksA[0]!.ends_at).toBe(endsAt);
    expect(doneA).toHaveLength(1);
    expect(doneB).toHaveLength(1);
    expect(doneA[0]!._at).toBeGreaterThanOrEqual(endsAt - 5);
    expect(doneA[0]!.session.room_code).toBe(code);
  });
});
