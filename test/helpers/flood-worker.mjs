// A flood of individually legal events from raw WebSocket clients, in a worker thread so
// the server's event loop (the test's main thread) carries only the server's work.
// workerData: { url, sockets, perRoom, rate (events/s per socket), addresses (distinct
// X-Forwarded-For values) }. Messages: parent → 'go' | 'stop'; worker → { type: 'ready' }
// then { type: 'stats', sent, received, errors: { code: n } }.
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

const { url, sockets, perRoom, rate, addresses } = workerData;
const wsUrl = `${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
let sent = 0;
let received = 0;
const errors = {};
const clients = [];

function open(i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { headers: { 'x-forwarded-for': `10.77.${Math.floor((i % addresses) / 250)}.${(i % addresses) % 250}` } });
    const c = { ws, waiters: [], credit: Math.random(), n: 0, last: {} };
    ws.on('error', reject);
    ws.on('message', (data) => {
      const text = data.toString();
      if (text === '2') return ws.send('3');
      if (!text.startsWith('42')) {
        if (text.startsWith('40')) resolve(c);
        return;
      }
      received += 1;
      const [event, payload] = JSON.parse(text.slice(2));
      if (event === 'error' || event === 'join_error') errors[payload.code] = (errors[payload.code] ?? 0) + 1;
      c.last[event] = payload;
      for (const w of c.waiters.splice(0)) w(event, payload);
    });
    ws.on('open', () => ws.send('40'));
  });
}

function emit(c, event, payload) {
  c.ws.send(`42${JSON.stringify([event, payload])}`);
}

function answer(c, events, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${events.join('/')}`)), timeoutMs);
    const on = (event, payload) => {
      if (events.includes(event)) {
        clearTimeout(timer);
        resolve([event, payload]);
      } else c.waiters.push(on);
    };
    c.waiters.push(on);
  });
}

/**
 * Sends until answered with one of `ok`: setup is not the flood, so a refusal by a budget is
 * retried, and so is a send the load shedding dropped without a reply (sent again after 4 s).
 * An `invalid_state` then means an earlier send went through late: its answer is kept in `last`.
 */
async function request(c, event, payload, ok) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    emit(c, event, payload);
    let got;
    try {
      got = await answer(c, [...ok, 'error', 'join_error'], 4_000);
    } catch (err) {
      const late = ok.find((e) => c.last[e]);
      if (late) return c.last[late];
      if (Date.now() > deadline) throw err;
      continue;
    }
    const [ev, reply] = got;
    if (ok.includes(ev)) return reply;
    if (reply.code === 'invalid_state') {
      const late = ok.find((e) => c.last[e]);
      if (late) return c.last[late];
      const [, answered] = await answer(c, ok, 15_000);
      return answered;
    }
    if (reply.code !== 'rate_limited' && reply.code !== 'unavailable') throw new Error(`${event}: ${JSON.stringify(reply)}`);
    await new Promise((r) => setTimeout(r, 250 + Math.random() * 500));
  }
}

async function room(start) {
  const members = [];
  for (let i = start; i < Math.min(start + perRoom, sockets); i++) members.push(await open(i));
  const [leader, ...rest] = members;
  const created = await request(leader, 'create_session', { user_name: 'lead', max_participants: Math.max(2, perRoom), session_duration: 3_600_000 }, ['session_created']);
  for (const [k, c] of rest.entries()) await request(c, 'join_session', { room_code: created.room_code, user_name: `m${k}` }, ['session_joined']);
  await request(leader, 'start_session', {}, ['session_started']);
  clients.push(...members);
}

const STATUSES = ['focusing', 'paused'];
let timer = null;
parentPort.on('message', (msg) => {
  if (msg === 'go') {
    let last = performance.now();
    timer = setInterval(() => {
      const now = performance.now();
      const dt = (now - last) / 1000;
      last = now;
      for (const c of clients) {
        c.credit += rate * dt;
        while (c.credit >= 1) {
          c.credit -= 1;
          emit(c, 'update_status', { status: STATUSES[c.n++ % 2] });
          sent += 1;
        }
      }
    }, 20);
  } else if (msg === 'stop') {
    clearInterval(timer);
    parentPort.postMessage({ type: 'stats', sent, received, errors });
    for (const c of clients) c.ws.terminate();
    setTimeout(() => process.exit(0), 50).unref();
  }
});

try {
  const starts = [];
  for (let i = 0; i < sockets; i += perRoom) starts.push(i);
  // A few rooms at a time: setup is not the flood.
  for (let k = 0; k < starts.length; k += 25) await Promise.all(starts.slice(k, k + 25).map(room));
  parentPort.postMessage({ type: 'ready', sockets: clients.length });
} catch (err) {
  parentPort.postMessage({ type: 'failed', error: String(err && err.stack ? err.stack : err) });
}
