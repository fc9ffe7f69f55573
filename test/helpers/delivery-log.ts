/**
 * Per-socket delivery accounting for the cluster fault tests: every room
 * event a raw socket.io-client socket receives, by `seq`, compared with the room's
 * history (what the socket should have got: every event after its snapshot, except the
 * `others` events about its own participant).
 */
import { audienceOf } from '../../src/contract/event-facts.js';
import type { RoomEventName } from '../../src/contract/events.js';
import type { Client } from './client.js';
import { http } from './http.js';

export interface DeliveryLog {
  name: string;
  participantId: string;
  /** The seq of the snapshot the socket started from. */
  from: number;
  /** Room events received, in arrival order. */
  seqs: number[];
}

export interface HistoryRow {
  seq: number;
  event: RoomEventName;
  data: Record<string, unknown>;
}

/** Records every room event (`seq` > 0) `socket` receives from now on. */
export function trackDeliveries(socket: Client, name: string, participantId: string, from: number): DeliveryLog {
  const log: DeliveryLog = { name, participantId, from, seqs: [] };
  socket.onAny((_event: string, payload: { seq?: unknown } | undefined) => {
    if (typeof payload?.seq === 'number' && payload.seq > 0) log.seqs.push(payload.seq);
  });
  return log;
}

/** The room's whole history (paged), read over REST with a seat's token. */
export async function roomHistory(url: string, code: string, token: string): Promise<HistoryRow[]> {
  const rows: HistoryRow[] = [];
  for (;;) {
    const after = rows.at(-1)?.seq ?? 0;
    const res = await http(`${url}/sessions/${code}/events?after=${after}&limit=1000`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`history: ${res.status} ${res.text}`);
    const page = (res.body as { events: HistoryRow[] }).events;
    rows.push(...page);
    if (page.length < 1000) return rows;
  }
}

/** What `log`'s socket should have received, up to `upTo`. */
export function expectedSeqs(log: DeliveryLog, history: readonly HistoryRow[], upTo = Number.POSITIVE_INFINITY): number[] {
  return history
    .filter((e) => e.seq > log.from && e.seq <= upTo)
    .filter((e) => !(audienceOf(e.event) === 'others' && e.data.participant_id === log.participantId))
    .map((e) => e.seq);
}

/** Duplicates, gaps and out-of-order arrivals of `log` against the history, up to `upTo`. */
export function deliveryFaults(log: DeliveryLog, history: readonly HistoryRow[], upTo = Number.POSITIVE_INFINITY): { duplicates: number[]; missing: number[]; outOfOrder: number } {
  const got = log.seqs.filter((s) => s <= upTo);
  const seen = new Set<number>();
  const duplicates: number[] = [];
  let outOfOrder = 0;
  for (const [i, s] of got.entries()) {
    if (seen.has(s)) duplicates.push(s);
    seen.add(s);
    if (i > 0 && s < got[i - 1]!) outOfOrder++;
  }
  const missing = expectedSeqs(log, history, upTo).filter((s) => !seen.has(s));
  return { duplicates, missing, outOfOrder };
}
