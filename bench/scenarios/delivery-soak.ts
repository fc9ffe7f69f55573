/**
 * Delivery soak: a 6-node Redis Cluster (3 masters, a replica each), two
 * focusroom instances (child processes), `--clients` raw socket.io-client sockets in rooms
 * of 4 (two members on each instance), every room running a countdown and changing
 * (statuses, tasks) about once every 2 s. Every `--fault-every` seconds one fault, the two
 * kinds in turn from a random start: every pub/sub connection killed (`CLIENT KILL TYPE
 * pubsub` on every node), or a random master SIGKILLed (its replica promoted; the old
 * master rejoins as a replica).
 * At the end every socket's received room events are compared with its room's history:
 * gaps, duplicates and out-of-order arrivals, per socket, must all be zero. An event whose
 * seq a socket holds with another event name is an acknowledged write lost with a
 * killed master (asynchronous replication), counted apart.
 *
 *   npm run soak:delivery                                     # 120 s, 200 clients, a fault every 30 s
 *   npm run soak:delivery -- --duration 600                   # the 10-minute run
 *
 * Scenario `delivery-soak` (opt-in; `npm run soak:delivery` = `npm run bench -- --only
 * delivery-soak --runtime src`). Options: --duration SECONDS (120), --clients N (200, a
 * multiple of 4), --fault-every SECONDS (30); the result lands in the bench's JSON (`--out`).
 * Fails (the bench exits 1) when a socket saw a gap or a duplicate. Everything it starts
 * (redis-server nodes, the two instances) is killed by PID at the end.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { audienceOf } from '../../src/contract/event-facts.js';
import type { RoomEventName } from '../../src/contract/events.js';
import { http } from '../../test/helpers/http.js';
import { type ChildInstance, killInstance, spawnInstance } from '../../test/helpers/process.js';
import { startRedisCluster } from '../../test/helpers/redis-cluster.js';
import type { Options } from '../lib/options.js';
import type { Results, Row } from '../lib/report.js';
import type { Scenario } from './scenario.js';

/** Set by the scenario's run() from the bench options (one soak per process). */
let DURATION_S = 120;
let CLIENTS = 200;
let FAULT_EVERY_S = 30;

function configure(opts: Options): void {
  DURATION_S = opts.durationS ?? 120;
  CLIENTS = Math.max(4, Math.floor((opts.given.has('clients') ? opts.clients : 200) / 4) * 4);
  FAULT_EVERY_S = opts.faultEveryS;
}

interface Member {
  socket: Socket;
  name: string;
  participantId: string;
  from: number;
  got: Array<[seq: number, event: string]>;
}
interface Room {
  code: string;
  token: string;
  members: Member[];
}

const ask = (socket: Socket, event: string, payload?: unknown) =>
  socket
    .timeout(5_000)
    .emitWithAck(event, payload)
    .catch(() => ({ ok: false })) as Promise<Record<string, any>>;

function track(socket: Socket, m: Omit<Member, 'got' | 'socket'>): Member {
  const member: Member = { ...m, socket, got: [] };
  socket.onAny((event: string, payload: { seq?: unknown } | undefined) => {
    if (typeof payload?.seq === 'number' && payload.seq > 0) member.got.push([payload.seq, event]);
  });
  return member;
}

async function connect(url: string): Promise<Socket> {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 10_000 });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

async function openRoom(urls: [string, string], i: number): Promise<Room> {
  const host = await connect(urls[0]);
  const created = await ask(host, 'create_session', { user_name: `H${i}`, session_duration: Math.min(4 * 3600_000, (DURATION_S + 300) * 1000) });
  if (!created.ok) throw new Error(`create: ${JSON.stringify(created)}`);
  const members = [track(host, { name: `r${i}.host`, participantId: created.participant_id, from: created.session.seq })];
  for (let g = 0; g < 3; g++) {
    const s = await connect(urls[(g + 1) % 2]!);
    const j = await ask(s, 'join_session', { room_code: created.room_code, user_name: `G${i}.${g}` });
    if (!j.ok) throw new Error(`join: ${JSON.stringify(j)}`);
    members.push(track(s, { name: `r${i}.g${g}`, participantId: j.participant_id, from: j.session.seq }));
  }
  await ask(host, 'start_session');
  return { code: created.room_code, token: created.resume_token, members };
}

async function history(url: string, room: Room): Promise<Array<{ seq: number; event: RoomEventName; data: Record<string, unknown> }>> {
  const rows: Array<{ seq: number; event: RoomEventName; data: Record<string, unknown> }> = [];
  for (;;) {
    const res = await http(`${url}/sessions/${room.code}/events?after=${rows.at(-1)?.seq ?? 0}&limit=1000`, { token: room.token });
    if (res.status !== 200) throw new Error(`history ${room.code}: ${res.status}`);
    const page = (res.body as { events: typeof rows }).events;
    rows.push(...page);
    if (page.length < 1000) return rows;
  }
}

export interface DeliverySoakResult {
  durationS: number;
  clients: number;
  rooms: number;
  changes: number;
  refused: Record<string, number>;
  faults: string[];
  gaps: number;
  duplicates: number;
  outOfOrder: number;
  replacedBySameSeq: number;
  metrics: string[][];
}

async function run(opts: Options, log: (s: string) => void): Promise<DeliverySoakResult> {
  configure(opts);
  const t0 = Date.now();
  log(`delivery soak: ${DURATION_S} s, ${CLIENTS} clients, a fault every ${FAULT_EVERY_S} s; starting a 6-node Redis Cluster…`);
  const rc = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  let instances: ChildInstance[] = [];
  const rooms: Room[] = [];
  const faults: string[] = [];
  let result: DeliverySoakResult;
  try {
    instances = await Promise.all(['soak-a', 'soak-b'].map((id) => spawnInstance({ redisUrl: rc.seeds, id, env: { REDIS_CLUSTER: 'true', INSTANCE_TIMEOUT_MS: '10000' } })));
    const urls: [string, string] = [instances[0]!.url, instances[1]!.url];
    for (let i = 0; i < CLIENTS / 4; i++) rooms.push(await openRoom(i % 2 ? [urls[1], urls[0]] : urls, i));
    log(`${rooms.length} rooms, ${CLIENTS} sockets seated (${Date.now() - t0} ms)`);

    let running = true;
    let changes = 0;
    const refused = new Map<string, number>();
    // Statuses allowed while the countdown runs, alternating for each member.
    const statuses = ['focusing', 'paused'];
    const producers = rooms.map(async (room, r) => {
      let n = r;
      await sleep(Math.random() * 2_000);
      while (running) {
        const m = room.members[n % 4]!;
        const reply =
          n % 2 === 0
            ? await ask(m.socket, 'update_status', { status: statuses[(n >> 2) % 2] })
            : await ask(room.members[0]!.socket, 'add_task', { title: `t${n}` }).then(async (a) => (a.ok ? ask(room.members[0]!.socket, 'remove_task', { task_id: a.task.id }) : a));
        if (reply.ok) changes++;
        else {
          const code = String(reply.error?.code ?? 'no ack');
          refused.set(code, (refused.get(code) ?? 0) + 1);
        }
        n++;
        await sleep(1_500 + Math.random() * 1_000);
      }
    });

    const endAt = t0 + DURATION_S * 1000;
    const first = Math.random() < 0.5 ? 0 : 1;
    while (Date.now() + FAULT_EVERY_S * 1000 < endAt) {
      await sleep(FAULT_EVERY_S * 1000);
      const at = Math.round((Date.now() - t0) / 1000);
      // Alternating, from a random start; the victim master is random.
      if ((faults.length + first) % 2 === 0) {
        for (const node of rc.nodes.filter((n) => n.alive)) {
          const admin = new Redis(node.url);
          await admin.client('KILL', 'TYPE', 'pubsub').catch(() => 0);
          admin.disconnect();
        }
        faults.push(`${at} s: pubsub connections killed`);
      } else {
        const masters = (await rc.topology()).filter((s) => s.role === 'master' && s.slots.length > 0 && !s.failing);
        const victim = masters[Math.floor(Math.random() * masters.length)]!;
        await rc.killMaster(victim.port);
        const ms = await rc.waitForFailover();
        await rc.restartNode(victim.port);
        faults.push(`${at} s: master :${victim.port} killed, promoted in ${ms} ms`);
      }
      log(faults.at(-1)!);
    }
    await sleep(Math.max(0, endAt - Date.now()));
    running = false;
    await Promise.all(producers);
    await sleep(5_000); // the last repairs (bound: 3 s)

    let gaps = 0;
    let duplicates = 0;
    let disorder = 0;
    let replaced = 0;
    const worst: string[] = [];
    for (const room of rooms) {
      const rows = await history(urls[0], room);
      const names = new Map(rows.map((e) => [e.seq, e.event]));
      for (const m of room.members) {
        const expected = rows.filter((e) => e.seq > m.from && !(audienceOf(e.event) === 'others' && e.data.participant_id === m.participantId)).map((e) => e.seq);
        const seen = new Set<number>();
        let dup = 0;
        let ooo = 0;
        m.got.forEach(([seq, event], i) => {
          if (seen.has(seq)) dup++;
          seen.add(seq);
          if (i > 0 && seq < m.got[i - 1]![0]) ooo++;
          if (names.has(seq) && names.get(seq) !== event) replaced++;
        });
        const missing = expected.filter((s) => !seen.has(s)).length;
        gaps += missing;
        duplicates += dup;
        disorder += ooo;
        if ((missing || dup || ooo) && worst.length < 10) worst.push(`${m.name} (${room.code}): ${missing} missing, ${dup} duplicate, ${ooo} out of order`);
      }
    }
    const metrics = await Promise.all(urls.map(async (u) => (await (await fetch(`${u}/metrics`)).text()).split('\n').filter((l) => l.startsWith('focusroom_delivery_'))));
    result = { durationS: DURATION_S, clients: CLIENTS, rooms: rooms.length, changes, refused: Object.fromEntries(refused), faults, gaps, duplicates, outOfOrder: disorder, replacedBySameSeq: replaced, metrics };
    log(JSON.stringify(result, null, 2));
    if (worst.length) log(worst.join('\n'));
  } finally {
    for (const r of rooms) for (const m of r.members) m.socket.disconnect();
    await Promise.all(instances.map((i) => killInstance(i)));
    await rc.stop();
  }
  if (result.gaps + result.duplicates + result.outOfOrder > 0) throw new Error(`delivery soak: ${result.gaps} missing, ${result.duplicates} duplicate, ${result.outOfOrder} out of order`);
  return result;
}

function report(r: Results): Row[] {
  const x = r['delivery-soak'] as DeliverySoakResult | undefined;
  if (!x) return [];
  return [[`Delivery soak, ${x.clients} clients, ${x.durationS} s, ${x.faults.length} faults`, `${x.gaps} missing · ${x.duplicates} duplicate · ${x.outOfOrder} out of order · ${x.replacedBySameSeq} lost with a killed master · ${x.changes} changes`, '0 missing, 0 duplicate']];
}

export const deliverySoak: Scenario = {
  summary: 'a 6-node Redis Cluster, two instances, rooms changing while pub/sub connections and masters are killed: every socket gets every room event once, in order',
  optIn: true,
  run: (ctx, _results, log) => run(ctx.opts, log),
  report,
};
