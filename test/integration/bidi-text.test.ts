/**
 * Bidirectional text: names and titles once accepted bidirectional overrides (U+202E)
 * and isolates, so "\u202Eevil" could render reversed and pass for another person. The
 * shared display-text rule now rejects U+202A–U+202E and U+2066–U+2069 anywhere in the
 * string; emoji built with zero-width joiners stay valid. Checked on the schema (every
 * banned code point at every position, plus fast-check properties) and on a live server
 * (create, join, add_task, update_task, and a JWT `name` claim all refuse it).
 */
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/contract/limits.js';
import { displayTextSchema, taskTitleSchema, userNameSchema } from '../../src/contract/schemas.js';
import { nameFromClaim } from '../../src/auth/jwt.js';
import { call, connect, roomWith } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';

const BIDI = [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069].map((c) => String.fromCodePoint(c));
const ZWJ_EMOJI = [
  '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}', // family
  '\u{1F3F3}\uFE0F\u200D\u{1F308}', // rainbow flag
  '\u{1F9D1}\u{1F3FD}\u200D\u{1F4BB}', // technologist, skin tone
  '\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}', // England (tag sequence)
];
const bannedRe = /[\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069]/u;

describe('display text rule (schema)', () => {
  it(`rejects each of the ${BIDI.length} bidi controls at the start, middle and end of names and titles`, () => {
    let refused = 0;
    for (const schema of [userNameSchema, taskTitleSchema]) {
      for (const c of BIDI) {
        for (const s of [`${c}evil`, `ev${c}il`, `evil${c}`, `${c}`, `a${c}${c}b`]) {
          const r = schema.safeParse(s);
          expect(r.success, JSON.stringify(s)).toBe(false);
          if (!r.success) expect(r.error.issues[0]?.message).toMatch(/bidirectional/);
          refused++;
        }
      }
    }
    expect(refused).toBe(2 * BIDI.length * 5);
  });

  it(`keeps ${ZWJ_EMOJI.length} zero-width-joiner emoji, RTL scripts and the neighbours of the banned ranges (U+2029, U+202F, U+2065, U+206A) valid`, () => {
    for (const s of [...ZWJ_EMOJI, 'مرحبا', 'שלום', 'a\u200Bb', 'a\u200Eb', 'x\u202Fy', 'x\u2065y', 'x\u206Ay', ZWJ_EMOJI.join('')]) {
      expect(userNameSchema.safeParse(s), JSON.stringify(s)).toMatchObject({ success: true, data: s });
    }
  });

  it('property: a string with a bidi control anywhere is refused; one without banned characters within the limit is kept (trimmed)', () => {
    const schema = displayTextSchema('name', LIMITS.userNameMax);
    const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: LIMITS.userNameMax - 1 });
    fc.assert(
      fc.property(text, fc.constantFrom(...BIDI), fc.nat(), (s, c, at) => {
        const i = at % (s.length + 1);
        expect(schema.safeParse(s.slice(0, i) + c + s.slice(i)).success).toBe(false);
      }),
      { numRuns: 2_000 },
    );
    fc.assert(
      fc.property(text, (s) => {
        const t = s.trim();
        fc.pre(t.length > 0 && !bannedRe.test(t));
        expect(schema.safeParse(s)).toMatchObject({ success: true, data: t });
      }),
      { numRuns: 2_000 },
    );
  });

  it('a JWT name claim with an override is dropped, as a user_name would be', () => {
    expect(nameFromClaim('\u202Eevil')).toBeNull();
    expect(nameFromClaim(ZWJ_EMOJI[0])).toBe(ZWJ_EMOJI[0]);
  });
});

describe('display text rule (live server)', () => {
  const server = useSharedServer({ AUTH_JWT_SECRET: 'a-test-secret-of-32-characters!!' });
  const token = (name: string) =>
    new SignJWT({ name }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setExpirationTime('1h').sign(new TextEncoder().encode('a-test-secret-of-32-characters!!'));

  it('create, join, add_task and update_task refuse a U+202E with invalid_payload and change nothing; ZWJ emoji pass', async () => {
    const [host, guest] = await Promise.all([connect(server.url, { auth: { token: await token('Host') } }), connect(server.url, { auth: { token: await token('Guest') } })]);
    const refused = { ok: false, error: { code: 'invalid_payload' } };
    expect(await call(host, 'create_session', { user_name: 'adm\u202Enimda' })).toMatchObject(refused);
    const { code } = await roomWith(host, [], { user_name: ZWJ_EMOJI[0] });
    const seq = await server.seqOf(code);
    expect(await call(guest, 'join_session', { room_code: code, user_name: '\u2067Host\u2069' })).toMatchObject(refused);
    expect(await call(host, 'add_task', { title: 'pay \u202Egnp.exe' })).toMatchObject(refused);
    expect(await server.seqOf(code)).toBe(seq);
    const added = await call(host, 'add_task', { title: `ship ${ZWJ_EMOJI[2]}` });
    expect(added).toMatchObject({ ok: true });
    const taskId = (added as any).task.id as string;
    expect(await call(host, 'update_task', { task_id: taskId, title: '\u202Dx' })).toMatchObject(refused);
    expect(await server.seqOf(code)).toBe(seq + 1);
    const room = await server.app.store.get(code);
    expect(room?.participants.map((p) => p.user_name)).toEqual([ZWJ_EMOJI[0]]);
  });

  it('a JWT whose name claim carries an override joins without that name (user_name then required)', async () => {
    const s = await connect(server.url, { auth: { token: await token('\u202Eevil') } });
    expect(await call(s, 'create_session', {})).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
  });
});
