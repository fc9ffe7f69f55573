/**
 * Members racing into a series at its seat cap (owner + 1), through two servers (two
 * instances sharing Redis, or one server twice): two racers are booked elsewhere at one
 * occurrence's time each, two are free. Exactly one free racer wins all occurrences; the
 * others get `room_full` or `time_slot_taken` and hold only what they held before; a reader
 * polling the rooms and the series meanwhile never sees a loser seated or a member over the cap.
 */
import { expect } from 'vitest';
import { call, connect, waitFor } from './client.js';
import { expectHttpError, http } from './http.js';
import type { TestServer } from './server.js';
import { identityFromUserKey } from '../../src/domain/identity.js';
import { issuedUserKey } from './test-env.js';

export async function raceIntoFullSeries({ a, b, now }: { a: TestServer; b: TestServer; now: number }): Promise<void> {
    const owner = issuedUserKey();
    const start = Math.ceil((now + 10_800_000) / 60_000) * 60_000;
    const created = await http(`${a.url}/series`, {
      token: owner,
      body: { title: 'Pair', starts_at: start, rrule: 'FREQ=DAILY;COUNT=4', tz: 'Europe/Berlin', max_participants: 2 },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.series_id as string;
    const occ = created.body.occurrences as { starts_at: number; room_code: string }[];
    // Two racers each booked elsewhere at a different occurrence's time; two free ones.
    const [x, y, free1, free2] = [issuedUserKey(), issuedUserKey(), issuedUserKey(), issuedUserKey()];
    const other = new Map<string, string>();
    for (const [key, k] of [[x, 1], [y, 3]] as const) {
      const r = await call(await connect(b.url), 'create_session', { user_name: 'Elsewhere', user_key: key, starts_at: occ[k]!.starts_at + 60_000 }, 10_000);
      expect(r.ok, JSON.stringify(r)).toBe(true);
      other.set(key, r.room_code);
    }
    // A reader polls both instances' view of the rooms and the series while they race.
    let reading = true;
    const seen: string[] = [];
    const reader = (async () => {
      while (reading) {
        for (const o of occ) {
          const room = await a.app.store.get(o.room_code);
          seen.push(...(room?.participants ?? []).map((p) => p.identity ?? '?'));
          if ((room?.participants.length ?? 0) > 2) seen.push(`over cap in ${o.room_code}`);
        }
        const members = (await http(`${b.url}/series/${id}`, { token: owner })).body.members as number;
        if (members > 2) seen.push(`members ${members}`);
      }
    })();
    const racers = [x, free1, y, free2];
    const replies = await Promise.all(racers.map((key, i) => http(`${(i % 2 ? b : a).url}/series/${id}/members`, { token: key, body: { user_name: `R${i}` } })));
    reading = false;
    await reader;
    const winners = racers.filter((_, i) => replies[i]!.status === 200);
    expect(winners, replies.map((r) => r.text).join(' / ')).toHaveLength(1);
    expect([free1, free2]).toContain(winners[0]);
    for (const [i, r] of replies.entries()) if (r.status !== 200) expect(['room_full', 'time_slot_taken'], r.text).toContain(r.body.error.code);
    // The clashing racers that reached the booking step were told which occurrence clashed.
    for (const [key, k] of [[x, 1], [y, 3]] as const) {
      const r = replies[racers.indexOf(key)]!;
      if (r.body.error.code === 'time_slot_taken') expect(r.body.error.message).toContain(new Date(occ[k]!.starts_at).toISOString());
    }
    // Every occurrence seats the owner and the winner; losers were never seen seated anywhere.
    for (const o of occ) {
      const ids = (await a.app.store.get(o.room_code))!.participants.map((p) => p.identity);
      expect(ids.sort()).toEqual([owner, winners[0]!].map(identityFromUserKey).sort());
    }
    const ownerAndWinner = new Set([owner, winners[0]!].map(identityFromUserKey));
    expect(seen.filter((s) => !ownerAndWinner.has(s))).toEqual([]);
    expect((await http(`${a.url}/series/${id}`, { token: owner })).body.members).toBe(2);
    // Losers hold only what they held before: their own other booking, or nothing.
    for (const key of racers.filter((k) => k !== winners[0])) {
      const mine = (await http(`${b.url}/me/sessions`, { token: key })).body.sessions.map((s: any) => s.room_code);
      expect(mine).toEqual(other.has(key) ? [other.get(key)] : []);
    }
    expect((await http(`${b.url}/me/sessions`, { token: winners[0]! })).body.sessions.map((s: any) => s.room_code)).toEqual(occ.map((o) => o.room_code));
}

/**
 * A member booking into a series (owner + 1 seat, 14 occurrences) through `a` while an
 * outsider joins the last occurrence by code through `b`, set off by the member's first seat
 * (the owner sits in the first occurrence and hears it). Either the member holds a seat in
 * every occurrence and the outsider is refused, or the member is refused `room_full` naming
 * the last occurrence and holds nothing anywhere (seats taken before it are undone); no
 * occurrence is ever over its cap. Twelve rounds; the outcomes seen are logged.
 */
export async function raceMemberAgainstJoinByCode({ a, b, now, label = 'one server' }: { a: TestServer; b: TestServer; now: number; label?: string }): Promise<void> {
  const outcomes = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const owner = issuedUserKey();
    const start = Math.ceil((now + 3_600_000) / 60_000) * 60_000;
    const created = await http(`${a.url}/series`, { token: owner, body: { title: 'Pair', starts_at: start, rrule: 'FREQ=DAILY;COUNT=14', tz: 'UTC', max_participants: 2 } });
    expect(created.status, created.text).toBe(201);
    const occ = created.body.occurrences as { starts_at: number; room_code: string }[];
    const member = issuedUserKey();
    const outsider = await connect(b.url);
    // The owner sits in the first occurrence: the member's seat there (step 2 under way)
    // sets off the join by code of the last occurrence, racing the member's next seats.
    const host = await connect(a.url);
    expect((await call(host, 'join_session', { room_code: occ[0]!.room_code, user_name: 'Host', user_key: owner })).ok).toBe(true);
    const outsiderJoin = waitFor(host, 'participant_joined').then(() => call(outsider, 'join_session', { room_code: occ[13]!.room_code, user_name: 'ByCode' }));
    const booked = await http(`${a.url}/series/${created.body.series_id}/members`, { token: member, body: { user_name: 'Member' } });
    const joined = await outsiderJoin;
    const seats = await Promise.all(occ.map(async (o) => (await a.app.store.get(o.room_code))!.participants.map((p) => p.user_name).sort()));
    if (booked.status === 200) {
      outcomes.add('member');
      expect(joined.error?.code, JSON.stringify(joined)).toBe('room_full');
      expect(seats).toEqual(occ.map(() => ['Host', 'Member']));
    } else {
      outcomes.add('outsider (member undone)');
      expectHttpError(booked, 409, 'room_full');
      expect(booked.body.error.message).toContain(new Date(occ[13]!.starts_at).toISOString());
      expect(joined.ok).toBe(true);
      // The member's seats taken before the refusal are gone again.
      expect(seats).toEqual(occ.map((_, k) => (k === 13 ? ['ByCode', 'Host'] : ['Host'])));
      expect((await http(`${a.url}/me/sessions`, { token: member })).body.sessions).toEqual([]);
      expect((await http(`${a.url}/series/${created.body.series_id}`, { token: member })).body).toMatchObject({ is_member: false, members: 1 });
    }
    host.disconnect();
    outsider.disconnect();
  }
  console.log(`series member vs join by code (${label}): ${[...outcomes].join(', ')} won`);
}

/**
 * A member booking into a series through `a`'s series service while `b`'s sweep creates
 * the series' next occurrence (the clocks moved a day): the sweep starts `offset` hops
 * after the booking, a later offset each round, so the sweep's claim of the new
 * occurrence, its room's creation and the booking's commit meet in every order (among
 * them: claimed before the commit, its room created only after the booking looked for
 * it). The member ends up seated once in every upcoming occurrence, the new one included,
 * and so does every earlier member. `hop`: one step of the offset — a microtask for the
 * memory store (its operations resolve within one turn), a turn of the event loop on Redis.
 */
export async function raceMemberAgainstSweep({
  a,
  b,
  clocks,
  hop,
  offsets,
  others,
  label = 'one server',
}: {
  a: TestServer;
  b: TestServer;
  clocks: { now(): number; advance(ms: number): void }[];
  hop: () => Promise<void>;
  offsets: number[];
  /** Members already in: the sweep books each of them into the new occurrence before creating its room. */
  others: number;
  label?: string;
}): Promise<void> {
  const DAY = 86_400_000;
  for (const offset of offsets) {
    const owner = issuedUserKey();
    const start = Math.ceil((clocks[0]!.now() + 3_600_000) / 60_000) * 60_000;
    const created = await http(`${a.url}/series`, { token: owner, body: { title: 'Daily', starts_at: start, rrule: 'FREQ=DAILY;COUNT=30', tz: 'UTC', max_participants: others + 2 } });
    expect(created.status, created.text).toBe(201);
    const id = created.body.series_id as string;
    // The horizon's 14 exist as rooms; the rest are listed without one yet.
    const occ = (created.body.occurrences as { starts_at: number; room_code: string | null }[]).filter((o): o is { starts_at: number; room_code: string } => o.room_code !== null);
    expect(occ).toHaveLength(14);
    const keys = [owner];
    for (let m = 0; m < others; m++) {
      const key = issuedUserKey();
      expect((await http(`${a.url}/series/${id}/members`, { token: key, body: { user_name: `M${m}` } })).status).toBe(200);
      keys.push(key);
    }
    for (const c of clocks) c.advance(DAY);
    const member = issuedUserKey();
    const [booked] = await Promise.all([
      a.app.series.addMember(id, { identity: identityFromUserKey(member), user_name: 'Member' }),
      (async () => {
        for (let h = 0; h < offset; h++) await hop();
        await b.app.series.sweep();
      })(),
    ]);
    expect(booked.members.map((m) => m.identity)).toContain(identityFromUserKey(member));
    keys.push(member);
    const seen = await http(`${b.url}/series/${id}`, { token: member });
    expect(seen.body).toMatchObject({ is_member: true, members: others + 2 });
    const codes = (seen.body.occurrences as { starts_at: number; room_code: string | null }[]).map((o) => o.room_code).filter((c): c is string => c !== null);
    // The 14 of the creation (the first is past since the move) and the new one.
    expect(codes).toEqual([...occ.map((o) => o.room_code), expect.any(String)]);
    const upcoming = codes.slice(1);
    const everyone = keys.map(identityFromUserKey).sort();
    for (const code of upcoming) {
      const room = await a.app.store.get(code);
      expect(room?.participants.map((p) => p.identity).sort(), `offset ${offset}, room ${code}${code === codes.at(-1) ? ' (the new one)' : ''}`).toEqual(everyone);
    }
    // The member's own view: booked into every upcoming occurrence.
    const mine = (await http(`${b.url}/me/sessions`, { token: member })).body.sessions.map((s: any) => s.room_code).sort();
    expect(mine).toEqual([...upcoming].sort());
    expect((await http(`${a.url}/series/${id}`, { method: 'DELETE', token: owner })).status).toBe(204);
  }
  console.log(`series member vs sweep (${label}): ${offsets.length} offsets, the member seated in every occurrence each time`);
}
