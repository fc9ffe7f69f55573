#!/usr/bin/env node
// A focus-room countdown in the terminal, written against the published SDK export only
// (`focusroom/client`, as an app that installed the package would import it).
//
//   npm run build
//   node examples/countdown.mjs ROOMCODE [name] [server-url]
//
// Joins the room, prints the countdown once a second from the SDK's clock-corrected
// timeLeft() (no ticks from the server), survives reconnects, and exits when the room
// completes or with an error code when the join is refused.
import { connect } from 'focusroom/client';

const [code, name = 'terminal', url = process.env.FOCUSROOM_URL ?? 'http://localhost:3000'] = process.argv.slice(2);
if (!code) {
  console.error('usage: node examples/countdown.mjs ROOMCODE [name] [server-url]');
  process.exit(2);
}

const clock = (ms) => {
  const s = Math.ceil(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

const client = connect(url);
client.on('connection', (state) => state !== 'connected' && console.log(`[${state}]`));
client.on('resumed', ({ missed }) => console.log(`[resumed, ${missed.length} missed events]`));
client.on('session_started', () => console.log('focus started'));
client.on('phase_changed', ({ phase, round }) => console.log(`${phase} (round ${round})`));
client.on('participant_joined', ({ participant }) => console.log(`${participant.user_name} joined`));
client.on('session_completed', ({ results, final }) => {
  if (!final) return;
  for (const r of results) console.log(`${r.user_name}: ${r.status}, ${Math.round(r.focused_ms / 1000)} s focused`);
  client.close();
  process.exit(0);
});

try {
  const { session } = await client.join(code, name);
  console.log(`joined ${session.room_code} (${session.participants.length} here, ${session.status})`);
} catch (err) {
  console.error(`could not join: ${err.code}: ${err.message}`);
  client.close();
  process.exit(1);
}

let last = '';
setInterval(() => {
  const s = client.session;
  if (!s) return;
  const line = s.status === 'waiting' ? `waiting for the host (${clock(s.time_left_ms)})` : `${s.status === 'paused' ? 'paused ' : ''}${clock(client.timeLeft())}`;
  if (line !== last) console.log((last = line));
}, 250);
