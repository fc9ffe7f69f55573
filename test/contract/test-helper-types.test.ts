/**
 * The tests' socket helpers (test/helpers/client.ts) are checked against the contract by
 * `npm run typecheck`: an event name that is not in the contract, or a payload its schema
 * rejects, does not compile; replies and waited-for payloads carry the contract's types.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { SessionJoinedPayload, TimeUpdatePayload } from '../../src/contract/events.js';
import { call, type Client, type PayloadOf, type Reply, waitFor } from '../helpers/client.js';

/** Never called: only compiled. */
function compileOnly(socket: Client) {
  // @ts-expect-error not a client event of the contract
  void call(socket, 'no_such_event');
  // @ts-expect-error user_name is a string in the create_session schema
  void call(socket, 'create_session', { user_name: 42 });
  // @ts-expect-error not a server event of the contract
  void waitFor(socket, 'no_such_event');
  void call(socket, 'start_session');
  void call(socket, 'join_session', { room_code: 'ABC234', user_name: 'Ann' });
  return [waitFor(socket, 'time_update'), call(socket, 'create_session', { user_name: 'Ann' })] as const;
}

describe('test helpers typed by the contract', () => {
  it('waitFor resolves to the event payload type; call to the ack of the event', () => {
    expectTypeOf<ReturnType<typeof compileOnly>[0]>().resolves.toEqualTypeOf<TimeUpdatePayload>();
    expectTypeOf<PayloadOf<'session_created'>>().toEqualTypeOf<SessionJoinedPayload>();
    type CreateReply = Awaited<ReturnType<typeof compileOnly>[1]>;
    expectTypeOf<CreateReply>().toEqualTypeOf<Reply<'create_session'>>();
    const ok = (r: Reply<'create_session'>) => (r.ok ? r.session.room_code : r.error.code);
    expect(typeof ok).toBe('function');
    expect(typeof compileOnly).toBe('function');
  });
});
