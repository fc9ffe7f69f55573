/**
 * A local Web Push service for tests (and the bench): what a browser's push service does
 * with a message, checked as strictly as the RFCs ask.
 *
 * - `browserSubscription()` makes a subscription as a browser would: a P-256 key pair and a
 *   16-byte auth secret (RFC 8291 §2), and an endpoint on this service.
 * - Each POST is checked: `Authorization: vapid t=<JWT>, k=<key>` (RFC 8292) with an ES256
 *   signature valid for `k`, `aud` = the endpoint's origin, `exp` in the future and at most
 *   24 h ahead, `sub` a mailto: or https: URL; `TTL` present; `Content-Encoding: aes128gcm`.
 *   The body is decrypted with the subscription's private key and auth secret (RFC 8291 +
 *   RFC 8188: ECDH, HKDF, AES-128-GCM, padding delimiter), so a payload that arrives is
 *   exactly what the server encrypted. A message failing a check answers 400 and is
 *   recorded in `rejected`.
 * - Per endpoint a test can make it answer another status (410, 500 with Retry-After, …)
 *   or hang; or `hold`: accept the message (checked, decrypted, recorded in `received`)
 *   but keep the answer back until the behaviour changes, so a test can kill the sender
 *   while its request is in flight.
 * - `deferChecks` (the bench): each POST to a known endpoint is kept as it came and answered
 *   201 at once, as a real push service stores the ciphertext and forwards it (the device
 *   decrypts); `settle()` then runs the same checks on each, with its arrival time, into
 *   `received` / `rejected`. So the service costs next to no CPU while a bench measures.
 * - `shown(token)`: what the device shows of what arrived: one notice per `Topic` (a later
 *   one with the same topic replaces the earlier, as the push service does with a message
 *   still waiting and the service worker's notification tag does on screen).
 */
import { createECDH, createPublicKey, createDecipheriv, hkdfSync, randomBytes, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedPush {
  /** The endpoint's token (the path after /push/). */
  token: string;
  payload: any;
  ttl: number;
  urgency: string | null;
  topic: string | null;
  claims: { aud: string; exp: number; sub: string };
  vapidKey: string;
  at: number;
}

export interface BrowserSubscription {
  token: string;
  /** What `PushSubscription.toJSON()` gives. */
  json: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
}

type Behaviour = { status: number; headers?: Record<string, string> } | 'hang' | 'hold';

interface Keys {
  ecdh: ReturnType<typeof createECDH>;
  auth: Buffer;
}

export interface PushService {
  url: string;
  received: ReceivedPush[];
  rejected: { token: string; reason: string }[];
  /** Every request that arrived, accepted or not. */
  attempts: { token: string; at: number }[];
  browserSubscription(): BrowserSubscription;
  /** How this endpoint answers from now on (default 201); answers held back are sent as the new behaviour says. */
  behave(token: string, behaviour: Behaviour): void;
  /** The notices the device shows: the last one per Topic (untopiced ones each). */
  shown(token: string): ReceivedPush[];
  /** How many messages were accepted (with `deferChecks`, before they are checked). */
  accepted(): number;
  /** With `deferChecks`: check and decrypt what was kept, into `received` / `rejected`. */
  settle(): void;
  close(): Promise<void>;
}

const b64u = (b: Buffer): string => b.toString('base64url');

/** RFC 8291 §3.4 + RFC 8188 §2: the plaintext of an aes128gcm body for the subscription's keys. */
export function decryptAes128gcm(body: Buffer, keys: Keys): Buffer {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const asPublic = body.subarray(21, 21 + idlen);
  const records = body.subarray(21 + idlen);
  if (idlen !== 65 || asPublic[0] !== 4) throw new Error('keyid is not an uncompressed P-256 key');
  if (records.length > rs) throw new Error('more than one record');
  const uaPublic = keys.ecdh.getPublicKey();
  const ecdhSecret = keys.ecdh.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, keys.auth, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(records.subarray(records.length - 16));
  const padded = Buffer.concat([decipher.update(records.subarray(0, records.length - 16)), decipher.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('last record lacks the 0x02 delimiter');
  return padded.subarray(0, end);
}

/** RFC 8292: the JWT's claims once its ES256 signature checks out against `k`. */
export function verifyVapid(header: string | undefined, origin: string, now: number): { claims: { aud: string; exp: number; sub: string }; key: string } {
  const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+),\s*k=([\w-]+)$/.exec(header ?? '');
  if (!m) throw new Error(`Authorization is not "vapid t=…, k=…": ${header}`);
  const [jwt, k] = [m[1]!, m[2]!];
  const [h, p, s] = jwt.split('.') as [string, string, string];
  const head = JSON.parse(Buffer.from(h, 'base64url').toString());
  if (head.alg !== 'ES256') throw new Error(`JWT alg is ${head.alg}, not ES256`);
  const raw = Buffer.from(k, 'base64url');
  if (raw.length !== 65 || raw[0] !== 4) throw new Error('k is not an uncompressed P-256 key');
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33)) }, format: 'jwk' });
  if (!verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))) throw new Error('JWT signature does not verify with k');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  if (claims.aud !== origin) throw new Error(`aud ${claims.aud} is not the endpoint origin ${origin}`);
  const nowS = Math.floor(now / 1000);
  if (typeof claims.exp !== 'number' || claims.exp <= nowS || claims.exp > nowS + 24 * 3600) throw new Error(`exp ${claims.exp} is not within the next 24 h`);
  if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) throw new Error(`sub ${claims.sub} is not a mailto: or https: URL`);
  return { claims, key: k };
}

type Headers = IncomingMessage['headers'];

/** Every check of one message; its payload decrypted (throws the first check that fails). */
function checkMessage(headers: Headers, body: Buffer, keys: Keys, origin: string, now: number): Omit<ReceivedPush, 'token' | 'at'> {
  const { claims, key } = verifyVapid(headers.authorization, origin, now);
  if (!/^\d+$/.test(String(headers.ttl ?? ''))) throw new Error('TTL header missing');
  if (headers['content-encoding'] !== 'aes128gcm') throw new Error(`Content-Encoding ${headers['content-encoding']}`);
  const topic = (headers.topic as string | undefined) ?? null;
  if (topic !== null && !/^[\w-]{1,32}$/.test(topic)) throw new Error(`Topic ${topic} is not ≤ 32 base64url characters`);
  const payload = JSON.parse(decryptAes128gcm(body, keys).toString('utf8'));
  return { payload, ttl: Number(headers.ttl), urgency: (headers.urgency as string | undefined) ?? null, topic, claims, vapidKey: key };
}

export async function startPushService(opts: { deferChecks?: boolean } = {}): Promise<PushService> {
  const keysOf = new Map<string, Keys>();
  const behaviours = new Map<string, Behaviour>();
  const received: ReceivedPush[] = [];
  const rejected: { token: string; reason: string }[] = [];
  const attempts: { token: string; at: number }[] = [];
  const kept: { token: string; headers: Headers; body: Buffer; at: number }[] = [];
  const hanging = new Set<ServerResponse>();
  const held = new Map<string, ServerResponse[]>();

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const token = /^\/push\/([\w-]+)$/.exec(req.url ?? '')?.[1] ?? '';
      const at = Date.now();
      attempts.push({ token, at });
      const behaviour = behaviours.get(token);
      if (behaviour === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      const keys = keysOf.get(token);
      if (req.method !== 'POST' || !keys) {
        res.writeHead(404).end();
        return;
      }
      if (opts.deferChecks) {
        kept.push({ token, headers: req.headers, body: Buffer.concat(chunks), at });
        res.writeHead(201).end();
        return;
      }
      try {
        const message = checkMessage(req.headers, Buffer.concat(chunks), keys, url, at);
        if (behaviour && behaviour !== 'hold' && behaviour.status !== 201) {
          res.writeHead(behaviour.status, behaviour.headers ?? {}).end();
          return;
        }
        received.push({ token, ...message, at });
        if (behaviour === 'hold') {
          held.set(token, [...(held.get(token) ?? []), res]);
          hanging.add(res);
          res.on('close', () => hanging.delete(res));
          return;
        }
        res.writeHead(201, { location: `${url}/message/${received.length}` }).end();
      } catch (err) {
        rejected.push({ token, reason: err instanceof Error ? err.message : String(err) });
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    received,
    rejected,
    attempts,
    browserSubscription() {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16);
      const token = b64u(randomBytes(12));
      keysOf.set(token, { ecdh, auth });
      return { token, json: { endpoint: `${url}/push/${token}`, expirationTime: null, keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(auth) } } };
    },
    behave(token, behaviour) {
      behaviours.set(token, behaviour);
      if (behaviour === 'hold' || behaviour === 'hang') return;
      for (const res of held.get(token) ?? []) if (!res.destroyed && !res.headersSent) res.writeHead(behaviour.status, behaviour.headers ?? {}).end();
      held.delete(token);
    },
    accepted: () => received.length + kept.length,
    settle() {
      for (const m of kept.splice(0)) {
        try {
          received.push({ token: m.token, ...checkMessage(m.headers, m.body, keysOf.get(m.token)!, url, m.at), at: m.at });
        } catch (err) {
          rejected.push({ token: m.token, reason: err instanceof Error ? err.message : String(err) });
        }
      }
    },
    shown(token) {
      const byTopic = new Map<string, ReceivedPush>();
      received.filter((r) => r.token === token).forEach((r, i) => byTopic.set(r.topic ?? `untopiced ${i}`, r));
      return [...byTopic.values()];
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
