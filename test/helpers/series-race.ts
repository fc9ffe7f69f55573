/**
 * Members racing into a series at its seat cap (owner + 1), through two servers (two
 * instances sharing Redis, or one server twice): two racers are booked elsewhere at one
 * occurrence's time each, two are free. Exactly one free racer wins all occurrences; the
 * others get `room_full` or `time_slot_taken` and hold only what they held before; a reader
 * polling the rooms and the series meanwhile never sees a loser seated or a member over the cap.
 */
import { expect } from 'vitest';
import { call, connect } from './client.js';
import { http } from './http.js';
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
