/**
 * Room codes are reserved atomically in Redis, so two instances can never hand out the
 * same live code. Random codes over 887M values would almost never collide on their own,
 * so the instances are given a rigged generator (AppDeps.generateRoomCode): its first
 * calls all return the same code, which every instance then tries to reserve at once.
 */
import { describe, expect, it } from 'vitest';
import { generateRoomCode } from '../../src/domain/room-code.js';
import { call, type Client, connect } from '../helpers/client.js';
import { useCluster } from '../helpers/cluster.js';
import { getJson } from '../helpers/http.js';

const CONTESTED = 'QQQQQQ';
/** Fewer than the 8 attempts a create makes, so every create still succeeds. */
const CONTESTED_CALLS = 6;

/** Shared by the three instances (one process), so they contend for the same code. */
let calls = 0;
const rigged = () => (calls++ < CONTESTED_CALLS ? CONTESTED : generateRoomCode());

const { servers } = useCluster({ ids: ['codes-a', 'codes-b', 'codes-c'], prefix: 'rc:', deps: { generateRoomCode: rigged } });

describe('room codes across instances', () => {
  it('are unique when many rooms are created at once on every instance', async () => {
    const perInstance = 10;
    const clients: Client[] = await Promise.all(Array.from({ length: 3 * perInstance }, (_, i) => connect(servers[i % 3]!.url)));
    const replies = await Promise.all(clients.map((c, i) => call(c, 'create_session', { user_name: `Creator ${i}` }, 5_000)));
    expect(replies.every((r) => r.ok)).toBe(true);
    const codes = replies.map((r) => r.room_code as string);
    expect(new Set(codes).size).toBe(codes.length);
    // The contested code went to exactly one creator; the others retried with new codes.
    expect(codes.filter((c) => c === CONTESTED)).toHaveLength(1);

    // Each code names the room its creator made, whichever instance is asked.
    const owners = await Promise.all(codes.map((code, i) => getJson(`${servers[(i + 1) % 3]!.url}/session/${code}`)));
    for (const o of owners) expect(o).toMatchObject({ status: 200, body: { participants: 1, status: 'waiting' } });
    const winner = replies.find((r) => r.room_code === CONTESTED)!;
    const guest = await connect(servers[2]!.url);
    const joined = await call(guest, 'join_session', { room_code: CONTESTED, user_name: 'Guest' });
    expect(joined.ok).toBe(true);
    expect(joined.session.host_id).toBe(winner.participant_id);
  });
});
