/**
 * The Web Push worker thread: encrypts each payload (RFC 8291 aes128gcm, via `web-push`),
 * signs the VAPID JWT (RFC 8292, cached per push service origin) and POSTs it (RFC 8030),
 * so none of that crypto or HTTP runs on the event loop that ticks rooms
 * (push-sender.ts feeds it and reads the results).
 *
 * Self-contained on purpose (only node built-ins and web-push, erasable types only): Node
 * loads it as it is, compiled from dist/ or stripped of its types from src/ under tests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import webpush from 'web-push';

export interface PushJob {
  key: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  payload: string;
  /** Seconds the push service keeps it for a device that is away. */
  ttl: number;
  urgency: 'very-low' | 'low' | 'normal' | 'high';
  topic: string;
}

export interface PushResult {
  key: string;
  /** The push service's status; 0 when no answer came (refused, reset, timed out). */
  status: number;
  /** Retry-After in ms, when the push service sent one. */
  retryAfterMs: number | null;
  error: string | null;
}

export interface PushWorkerData {
  vapid: { publicKey: string; privateKey: string; subject: string };
  timeoutMs: number;
  /** Requests in flight at once; more wait here. */
  maxInFlight: number;
}

/** A VAPID JWT lives 12 h (RFC 8292 allows 24) and is re-signed an hour before that. */
const JWT_LIFETIME_S = 12 * 3600;
const JWT_RENEW_MS = 11 * 3600_000;

export function retryAfterMs(value: string | null, now: number): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function run(data: PushWorkerData): void {
  const port = parentPort!;
  const vapidByOrigin = new Map<string, { header: string; renewAt: number }>();
  const queue: PushJob[] = [];
  let inFlight = 0;
  let pending: PushResult[] = [];
  let flushing = false;

  function vapidHeader(origin: string): string {
    const now = Date.now();
    const cached = vapidByOrigin.get(origin);
    if (cached && cached.renewAt > now) return cached.header;
    const { publicKey, privateKey, subject } = data.vapid;
    const headers = webpush.getVapidHeaders(origin, subject, publicKey, privateKey, 'aes128gcm', Math.floor(now / 1000) + JWT_LIFETIME_S);
    const header = String(headers.Authorization);
    vapidByOrigin.set(origin, { header, renewAt: now + JWT_RENEW_MS });
    return header;
  }

  /** Results go back in batches, one message per turn of this thread's loop. */
  function report(r: PushResult): void {
    pending.push(r);
    if (flushing) return;
    flushing = true;
    setImmediate(() => {
      flushing = false;
      const out = pending;
      pending = [];
      port.postMessage(out);
    });
  }

  async function send(job: PushJob): Promise<PushResult> {
    try {
      const url = new URL(job.endpoint);
      const encrypted = webpush.encrypt(job.p256dh, job.auth, job.payload, 'aes128gcm');
      const res = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(data.timeoutMs),
        headers: {
          TTL: String(job.ttl),
          Urgency: job.urgency,
          Topic: job.topic,
          'Content-Type': 'application/octet-stream',
          'Content-Encoding': 'aes128gcm',
          Authorization: vapidHeader(url.origin),
        },
        body: encrypted.cipherText,
      });
      await res.body?.cancel().catch(() => {});
      return { key: job.key, status: res.status, retryAfterMs: retryAfterMs(res.headers.get('retry-after'), Date.now()), error: null };
    } catch (err) {
      return { key: job.key, status: 0, retryAfterMs: null, error: err instanceof Error ? err.message : String(err) };
    }
  }

  function pump(): void {
    while (inFlight < data.maxInFlight && queue.length > 0) {
      const job = queue.shift()!;
      inFlight += 1;
      void send(job).then((r) => {
        inFlight -= 1;
        report(r);
        pump();
      });
    }
  }

  port.on('message', (jobs: PushJob[]) => {
    for (const j of jobs) queue.push(j);
    pump();
  });
}

if (parentPort && workerData) run(workerData as PushWorkerData);
