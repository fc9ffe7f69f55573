/**
 * The Web Push worker thread: encrypts each payload (RFC 8291 aes128gcm, via `web-push`),
 * signs the VAPID JWT (RFC 8292, cached per push service origin) and POSTs it (RFC 8030,
 * node:https with keep-alive; redirects are not followed),
 * so none of that crypto or HTTP runs on the event loop that ticks rooms
 * (push-sender.ts feeds it and reads the results).
 *
 * Self-contained on purpose (only node built-ins and web-push, erasable types only): Node
 * loads it as it is, compiled from dist/ or stripped of its types from src/ under tests.
 */
import { execFile } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
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
  /** True when the job was dropped before its request began (the worker was stopping): nothing reached the push service. */
  unsent?: boolean;
}

/** Sent by the sender on shutdown: jobs not started are dropped (answered `unsent`), requests in flight go on. */
export type StopSending = 'stop';

export interface PushWorkerData {
  vapid: { publicKey: string; privateKey: string; subject: string };
  timeoutMs: number;
  /** Requests in flight at once; more wait here. */
  maxInFlight: number;
  /** Added to this thread's nice value (0: unchanged). */
  nice: number;
  /** Linux: run under SCHED_IDLE (`chrt --idle -p 0 <tid>`); the nice value above stays if that fails. */
  idle?: boolean;
}

/** Posted once by the worker after start: the scheduling it got (`error`: why SCHED_IDLE was not). */
export interface WorkerPriority {
  priority: 'idle' | 'nice' | 'unchanged';
  tid: number | null;
  error?: string;
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

interface Answer {
  status: number;
  retryAfter: string | null;
}

/**
 * One POST with node:http(s) and keep-alive agents: ~⅓ of the CPU of fetch per request
 * (measured 172 vs 449 µs), which is most of a push's cost after the encryption.
 * `timeoutMs` bounds the whole exchange, from the request to the end of the answer.
 */
function post(url: URL, headers: Record<string, string>, body: Buffer, agents: Record<string, http.Agent>, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err: Error | null, answer?: Answer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(answer!);
    };
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method: 'POST', agent: agents[url.protocol], headers: { ...headers, 'Content-Length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => done(null, { status: res.statusCode ?? 0, retryAfter: (res.headers['retry-after'] as string | undefined) ?? null }));
      res.on('error', (err) => done(err));
      res.on('close', () => done(new Error('connection closed during the answer')));
    });
    const timer = setTimeout(() => {
      done(new Error(`no answer within ${timeoutMs} ms`));
      req.destroy();
    }, timeoutMs);
    req.on('error', (err) => done(err));
    req.end(body);
  });
}

/** This thread's id (Linux: /proc/thread-self names it); null elsewhere. */
function threadId(): number | null {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return null;
  }
}

/**
 * Linux: this thread's nice value goes up by `nice` (PUSH_WORKER_NICE; a per-thread
 * attribute there, /proc/thread-self names the thread), so when the cores are busy the
 * scheduler gives the main thread, which ticks rooms, the CPU first and a burst of pushes
 * waits instead. With `idle` (PUSH_WORKER_IDLE) the thread then moves to SCHED_IDLE, by
 * `chrt --idle -p 0 <tid>` (util-linux; Node has no sched_setscheduler): a waking thread of
 * any other policy preempts it at once, where a nice thread may finish its slice first (ms
 * on EEVDF); the price is that it gets almost nothing while the core is busy with anything
 * else. Elsewhere, or if refused, the nice value (or nothing) stays.
 */
function lowerPriority(data: PushWorkerData, done: (p: WorkerPriority) => void): void {
  const tid = threadId();
  let priority: WorkerPriority['priority'] = 'unchanged';
  if (tid !== null && data.nice > 0) {
    try {
      os.setPriority(tid, Math.min(19, os.getPriority(tid) + data.nice));
      priority = 'nice';
    } catch {
      // not allowed: the thread keeps the process's priority
    }
  }
  if (!data.idle) return done({ priority, tid });
  if (tid === null) return done({ priority, tid, error: 'no thread id (not Linux)' });
  execFile('chrt', ['--idle', '-p', '0', String(tid)], { timeout: 5_000 }, (err, _out, stderr) => {
    if (err) done({ priority, tid, error: (stderr.trim() || err.message).slice(0, 200) });
    else done({ priority: 'idle', tid });
  });
}

function run(data: PushWorkerData): void {
  const port = parentPort!;
  lowerPriority(data, (p) => port.postMessage(p));
  // One keep-alive pool per scheme: a push service's connections are reused across messages.
  const agents: Record<string, http.Agent> = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: data.maxInFlight }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: data.maxInFlight }),
  };
  const vapidByOrigin = new Map<string, { header: string; renewAt: number }>();
  const queue: PushJob[] = [];
  let inFlight = 0;
  let pending: PushResult[] = [];
  let flushing = false;
  let stopping = false;

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
      const headers = {
        TTL: String(job.ttl),
        Urgency: job.urgency,
        Topic: job.topic,
        'Content-Type': 'application/octet-stream',
        'Content-Encoding': 'aes128gcm',
        Authorization: vapidHeader(url.origin),
      };
      const res = await post(url, headers, encrypted.cipherText, agents, data.timeoutMs);
      return { key: job.key, status: res.status, retryAfterMs: retryAfterMs(res.retryAfter, Date.now()), error: null };
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

  /** Answers jobs that never reached the push service: the sender hands them to another instance. */
  function drop(jobs: PushJob[]): void {
    for (const j of jobs) report({ key: j.key, status: 0, retryAfterMs: null, error: 'not sent: stopping', unsent: true });
  }

  port.on('message', (msg: PushJob[] | StopSending) => {
    if (msg === 'stop') {
      stopping = true;
      drop(queue.splice(0));
      return;
    }
    if (stopping) return drop(msg);
    for (const j of msg) queue.push(j);
    pump();
  });
}

if (parentPort && workerData) run(workerData as PushWorkerData);
