/**
 * The event-facts table (src/contract/event-facts.ts) classifies every server → client
 * event. Most of this file is checked by `npm run typecheck` (part of `npm test`): each
 * `@ts-expect-error` below fails the typecheck the day the table stops rejecting an
 * unclassified or misclassified event. The runtime tests check the derived lists.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { EVENT_FACTS, type EventFactsTable, type FactsFor, ROOM_EVENT_NAMES, SNAPSHOT_BEARING_EVENTS, SNAPSHOT_EVENTS, TIMER_EVENTS, type ServerEventName } from '../../src/contract/event-facts.js';
import type { ClientPayload, ClientToServerEvents, RoomEventName, RoomEvents, ServerToClientEvents, SessionSnapshot } from '../../src/contract/events.js';
import { CLIENT_EVENT_SCHEMAS, type ClientEventName } from '../../src/contract/schemas.js';

/** The event map with one new room event nobody has classified yet. */
type WithNewEvent = ServerToClientEvents & { brand_new_event: (payload: { seq: number }) => void };

describe('event facts (compile time)', () => {
  it('a new event in the map does not compile until it has a row', () => {
    // @ts-expect-error brand_new_event is missing from the table
    const unclassified: EventFactsTable<WithNewEvent> = EVENT_FACTS;
    const classified: EventFactsTable<WithNewEvent> = {
      ...EVENT_FACTS,
      brand_new_event: { kind: 'room', snapshot: false, timer: false, audience: 'everyone' },
    };
    expect(unclassified).toBe(EVENT_FACTS);
    expect(classified.brand_new_event.kind).toBe('room');
  });

  it('a row that contradicts the payload does not compile', () => {
    type WithSnapshotEvent = ServerToClientEvents & { shown: (payload: { session: SessionSnapshot; seq: number }) => void };
    const base = EVENT_FACTS;
    const rows: Array<EventFactsTable<WithSnapshotEvent>> = [
      // @ts-expect-error a payload with `session` is a snapshot event
      { ...base, shown: { kind: 'room', snapshot: false, timer: false, audience: 'everyone' } },
      // @ts-expect-error a payload with `seq` is a room event, not a reply
      { ...base, shown: { kind: 'reply', snapshot: true, timer: false, audience: 'caller' } },
      // @ts-expect-error a snapshot room event sends the host its own copy
      { ...base, shown: { kind: 'room', snapshot: true, timer: true, audience: 'everyone' } },
    ];
    expect(rows).toHaveLength(3);
    // `others` needs a participant to leave out.
    expectTypeOf<FactsFor<{ task: unknown; seq: number }>['audience']>().toEqualTypeOf<'everyone'>();
    expectTypeOf<FactsFor<{ participant_id: string; seq: number }>['audience']>().toEqualTypeOf<'everyone' | 'others'>();
  });

  it('the table has exactly the events of the contract', () => {
    expectTypeOf<ServerEventName>().toEqualTypeOf<keyof ServerToClientEvents>();
    type RoomRows = { [K in ServerEventName]: (typeof EVENT_FACTS)[K]['kind'] extends 'room' ? K : never }[ServerEventName];
    expectTypeOf<RoomRows>().toEqualTypeOf<RoomEventName>();
  });

  it('client payload types are the zod schemas’ input types', () => {
    expectTypeOf<ClientPayload<'join_session'>>().toEqualTypeOf<{ room_code: string; user_name?: string | undefined; user_key?: string | undefined }>();
    expectTypeOf<Parameters<ClientToServerEvents['add_task']>[0]>().toEqualTypeOf<ClientPayload<'add_task'>>();
    expectTypeOf<keyof ClientToServerEvents>().toEqualTypeOf<ClientEventName>();
    // Events without fields may leave the payload out; the others may not.
    expectTypeOf<Parameters<ClientToServerEvents['start_session']>['length']>().toEqualTypeOf<0 | 1 | 2>();
    expectTypeOf<Parameters<ClientToServerEvents['add_task']>['length']>().toEqualTypeOf<1 | 2>();
    // @ts-expect-error status is one of the schema's enum values
    const bad: ClientPayload<'update_status'> = { status: 'asleep' };
    expect(CLIENT_EVENT_SCHEMAS.update_status.safeParse(bad).success).toBe(false);
  });
});

describe('event facts (derived lists)', () => {
  it('room events are exactly the RoomEvents keys, each with a seq', () => {
    const roomEvents: Record<RoomEventName, true> = {
      participant_joined: true,
      participant_left: true,
      participant_connection: true,
      creator_changed: true,
      session_started: true,
      session_paused: true,
      session_resumed: true,
      settings_updated: true,
      session_completed: true,
      phase_changed: true,
      participant_status_updated: true,
      task_added: true,
      task_updated: true,
      task_removed: true,
      participant_intention: true,
      participant_recap: true,
      room_closed: true,
    } satisfies Record<keyof RoomEvents, true>;
    expect([...ROOM_EVENT_NAMES].sort()).toEqual(Object.keys(roomEvents).sort());
  });

  it('derives the snapshot, timer and snapshot-bearing lists from the table', () => {
    expect([...SNAPSHOT_EVENTS].sort()).toEqual(
      ['participant_joined', 'participant_left', 'session_started', 'session_paused', 'session_resumed', 'settings_updated', 'session_completed', 'phase_changed'].sort(),
    );
    expect([...TIMER_EVENTS].sort()).toEqual(['session_started', 'session_paused', 'session_resumed', 'session_completed', 'phase_changed', 'room_closed'].sort());
    expect([...SNAPSHOT_BEARING_EVENTS].sort()).toEqual([...SNAPSHOT_EVENTS, 'session_created', 'session_joined'].sort());
    for (const e of SNAPSHOT_EVENTS) expect(EVENT_FACTS[e].audience).toBe('host_copy');
    expect(Object.entries(EVENT_FACTS).filter(([, f]) => f.audience === 'others').map(([e]) => e)).toEqual(['participant_status_updated']);
  });
});
