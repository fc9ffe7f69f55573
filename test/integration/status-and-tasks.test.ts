/**
 * update_status (ack, broadcast to the others only, transition rules) and the shared task
 * list (add/update/remove with task_* events and seq).
 */
import { describe, expect, it } from 'vitest';
import { call, callUnchecked, connect, eventually, record, roomWith, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';
import { expectAckError, expectTask, quietWindow } from '../helpers/shapes.js';

const server = useSharedServer();
const { seqOf } = server;

async function trio(create: Record<string, unknown> = {}) {
  const clients = await Promise.all([connect(server.url), connect(server.url), connect(server.url)]);
  const room = await roomWith(clients[0]!, clients.slice(1), { session_duration: 60_000, ...create });
  return { clients, ...room };
}

describe('update_status', () => {
  it('acks the sender and tells the others only: {participant_id, status, user_name, seq}', async () => {
    const { clients, code, joined } = await trio();
    const [host, g1, g2] = clients;
    await call(host!, 'start_session');
    const seen = clients.map((c) => record(c, 'participant_status_updated'));
    const seq = await seqOf(code);

    expect(await call(g1!, 'update_status', { status: 'paused' })).toEqual({ ok: true, status: 'paused', seq: expect.any(Number) });
    expect(await call(g1!, 'update_status', { status: 'focusing' })).toEqual({ ok: true, status: 'focusing', seq: expect.any(Number) });
    expect(await call(g2!, 'update_status', { status: 'failed' })).toEqual({ ok: true, status: 'failed', seq: expect.any(Number) });
    await eventually(() => expect(seen[0]).toHaveLength(3));
    await quietWindow(150);

    const strip = (xs: any[]) => xs.map(({ _at, ...e }) => e);
    const g1Id = joined[0]!.participant_id;
    const g2Id = joined[1]!.participant_id;
    expect(strip(seen[0]!)).toEqual([
      { participant_id: g1Id, status: 'paused', user_name: 'Guest1', seq: seq + 1 },
      { participant_id: g1Id, status: 'focusing', user_name: 'Guest1', seq: seq + 2 },
      { participant_id: g2Id, status: 'failed', user_name: 'Guest2', seq: seq + 3 },
    ]);
    expect(strip(seen[1]!)).toEqual([strip(seen[0]!)[2]]);
    expect(strip(seen[2]!)).toEqual(strip(seen[0]!).slice(0, 2));
    const room = (await server.app.store.get(code))!;
    expect(room.participants.map((p) => p.status)).toEqual(['focusing', 'focusing', 'failed']);
  });

  it('before the start only ready is allowed (a no-op: same status, no event)', async () => {
    const { clients, code } = await trio();
    const [host, g1] = clients;
    const seen = record(host!, 'participant_status_updated');
    const seq = await seqOf(code);
    expect(await call(g1!, 'update_status', { status: 'ready' })).toEqual({ ok: true, status: 'ready', seq: expect.any(Number) });
    for (const status of ['focusing', 'paused', 'failed'] as const) expectAckError(await call(g1!, 'update_status', { status }), 'invalid_state');
    await quietWindow(150);
    expect(seen).toEqual([]);
    expect(await seqOf(code)).toBe(seq);
  });

  it('while running: ready is refused; failed is final until the next start', async () => {
    const { clients, code } = await trio();
    const [host, g1] = clients;
    await call(host!, 'start_session');
    expectAckError(await call(g1!, 'update_status', { status: 'ready' }), 'invalid_state');
    await call(g1!, 'update_status', { status: 'failed' });
    const seq = await seqOf(code);
    expectAckError(await call(g1!, 'update_status', { status: 'focusing' }), 'invalid_state');
    expectAckError(await call(g1!, 'update_status', { status: 'paused' }), 'invalid_state');
    expect(await call(g1!, 'update_status', { status: 'failed' })).toEqual({ ok: true, status: 'failed', seq: expect.any(Number) });
    expect(await seqOf(code)).toBe(seq);
    // A room-wide pause does not revive a failed participant either.
    await call(host!, 'pause_session');
    await call(host!, 'resume_timer');
    expect((await server.app.store.get(code))!.participants[1]!.status).toBe('failed');
  });

  it('status values outside the protocol are invalid_payload', async () => {
    const { clients, code } = await trio();
    await call(clients[0]!, 'start_session');
    const seq = await seqOf(code);
    for (const bad of [{ status: 'completed' }, { status: 'FOCUSING' }, { status: 'away' }, { status: 1 }, {}, { status: 'paused', extra: 1 }]) {
      expectAckError(await callUnchecked(clients[1]!, 'update_status', bad), 'invalid_payload');
    }
    expect(await seqOf(code)).toBe(seq);
  });
});

describe('tasks', () => {
  it('add, update, remove: acks and task_* {task, seq} to everyone in order; late joiners see the list', async () => {
    const { clients, code, joined } = await trio();
    const [host, g1, g2] = clients;
    const events = clients.map((c) => {
      const all: any[] = [];
      for (const ev of ['task_added', 'task_updated', 'task_removed'] as const) c.on(ev, (x: any) => all.push({ ev, ...x }));
      return all;
    });
    const seq = await seqOf(code);

    const added = await call(g1!, 'add_task', { title: '  Write tests  ' });
    expect(Object.keys(added).sort()).toEqual(['ok', 'seq', 'task']);
    expectTask(added.task);
    expect(added.task).toMatchObject({ title: 'Write tests', done: false, created_by: joined[0]!.participant_id });
    const taskId = added.task.id as string;
    const second = await call(host!, 'add_task', { title: 'Review' });

    const done = await call(g2!, 'update_task', { task_id: taskId, done: true });
    expect(done.task).toEqual({ ...added.task, done: true });
    const renamed = await call(host!, 'update_task', { task_id: taskId, title: 'Write more tests' });
    expect(renamed.task).toEqual({ ...added.task, done: true, title: 'Write more tests' });
    const removed = await call(host!, 'remove_task', { task_id: second.task.id });
    expect(removed.task).toEqual(second.task);

    await eventually(() => events.forEach((e) => expect(e).toHaveLength(5)));
    await quietWindow(150);
    const expected = [
      { ev: 'task_added', task: added.task, seq: seq + 1 },
      { ev: 'task_added', task: second.task, seq: seq + 2 },
      { ev: 'task_updated', task: done.task, seq: seq + 3 },
      { ev: 'task_updated', task: renamed.task, seq: seq + 4 },
      { ev: 'task_removed', task: second.task, seq: seq + 5 },
    ];
    for (const e of events) expect(e).toEqual(expected);

    const late = await call(await connect(server.url), 'join_session', { room_code: code, user_name: 'Late' });
    expect(late.session.tasks).toEqual([renamed.task]);
  });

  it('unknown task → not_found; bad titles → invalid_payload; nothing changes', async () => {
    const { clients, code } = await trio();
    const [host] = clients;
    const seq = await seqOf(code);
    expectAckError(await call(host!, 'update_task', { task_id: 'nope', done: true }), 'not_found');
    expectAckError(await call(host!, 'remove_task', { task_id: 'nope' }), 'not_found');
    for (const bad of [{ title: '' }, { title: '   ' }, { title: 'x'.repeat(201) }, { title: 'a\u0000b' }, { title: 5 }, {}]) {
      expectAckError(await callUnchecked(host!, 'add_task', bad), 'invalid_payload');
    }
    const t = await call(host!, 'add_task', { title: 'ok' });
    expectAckError(await call(host!, 'update_task', { task_id: t.task.id }), 'invalid_payload');
    expectAckError(await callUnchecked(host!, 'update_task', { task_id: t.task.id, done: 'yes' }), 'invalid_payload');
    expect(await seqOf(code)).toBe(seq + 1);
    // A missing task must not unseat the caller: it still hears the room.
    const heard = waitFor(host!, 'task_added');
    await call(clients[1]!, 'add_task', { title: 'from a guest' });
    expect((await heard).task.title).toBe('from a guest');
  });

  it('remove_task: only the task\'s author or the host; anyone else gets not_host and the room hears nothing', async () => {
    const { clients, code } = await trio();
    const [host, g1, g2] = clients;
    const byG1 = await call(g1!, 'add_task', { title: 'mine' });
    const byHost = await call(host!, 'add_task', { title: 'the host\'s' });
    const byG2 = await call(g2!, 'add_task', { title: 'also mine' });
    const seq = await seqOf(code);
    const removals = record(host!, 'task_removed');
    expectAckError(await call(g2!, 'remove_task', { task_id: byG1.task.id }), 'not_host');
    expectAckError(await call(g1!, 'remove_task', { task_id: byHost.task.id }), 'not_host');
    expect(await seqOf(code)).toBe(seq);
    expect((await call(g1!, 'remove_task', { task_id: byG1.task.id })).ok).toBe(true);
    expect((await call(host!, 'remove_task', { task_id: byG2.task.id })).ok).toBe(true);
    await eventually(() => expect(removals).toHaveLength(2));
    expect(removals.map((r: any) => r.task.id)).toEqual([byG1.task.id, byG2.task.id]);
  });

  it('a room holds at most 50 tasks', async () => {
    const { clients } = await trio();
    for (let i = 0; i < 50; i++) expect((await call(clients[i % 3]!, 'add_task', { title: `t${i}` })).ok).toBe(true);
    expectAckError(await call(clients[0]!, 'add_task', { title: 'one too many' }), 'invalid_state');
  });
});
