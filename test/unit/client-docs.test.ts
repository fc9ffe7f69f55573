/**
 * docs/sdk.md is checked against the code: every public method and getter of
 * FocusroomClient, every event of `on()` and every option of `connect()` is documented,
 * and the doc names nothing the client does not have.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FocusroomClient } from '../../src/client/index.js';
import { ROOM_EVENT_NAMES } from '../../src/contract/event-facts.js';

const doc = readFileSync(new URL('../../docs/sdk.md', import.meta.url), 'utf8');
const mentioned = (name: string) => doc.includes(`\`${name}\``) || doc.includes(`\`${name}(`);

describe('docs/sdk.md', () => {
  it('documents every public member of FocusroomClient', () => {
    const members = Object.getOwnPropertyNames(FocusroomClient.prototype).filter((m) => m !== 'constructor');
    // TypeScript's `private` is compile-time only: the public surface is what the .d.ts shows.
    const dts = readFileSync(new URL('../../src/client/client.ts', import.meta.url), 'utf8');
    const isPrivate = (m: string) => new RegExp(`^\\s+private (?:readonly |async )?${m}\\b`, 'm').test(dts);
    const publicMembers = [...members.filter((m) => !isPrivate(m)), 'socket'];
    expect(publicMembers).toEqual(expect.arrayContaining(['create', 'join', 'start', 'pause', 'resumeTimer', 'setStatus', 'addTask', 'updateTask', 'removeTask', 'updateSettings', 'leave', 'close', 'on', 'session', 'timeLeft']));
    for (const m of publicMembers) expect(mentioned(m), m).toBe(true);
  });

  it('documents every event and option', () => {
    for (const e of [...ROOM_EVENT_NAMES, 'time_update', 'change', 'resumed', 'seat_lost', 'connection', 'clock']) expect(mentioned(e), e).toBe(true);
    const src = readFileSync(new URL('../../src/client/client.ts', import.meta.url), 'utf8');
    const options = src.slice(src.indexOf('export interface ConnectOptions'), src.indexOf('}\n', src.indexOf('export interface ConnectOptions')));
    const names = [...options.matchAll(/^\s+(\w+)\?:/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(5);
    for (const o of names) expect(mentioned(o), o).toBe(true);
  });
});
