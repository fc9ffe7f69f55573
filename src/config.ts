/**
 * Configuration from the environment: the one place defaults live. Validated at
 * start; a bad value stops the process with a message naming the variable. One schema
 * is the whole truth: the env variables and their checks (`envSchema`), turned into the
 * app's `Config` by one transform whose output *is* the `Config` type, so a new setting
 * is added in one place (plus the README's configuration table).
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { LIMITS } from './contract/limits.js';

/** A whole number in [min, max]; unset or empty gives `undefined`. */
const optionalIntVar = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx): number | undefined => {
      if (v === undefined || v.trim() === '') return undefined;
      if (!/^-?\d+$/.test(v.trim())) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number, got "${v}"` });
        return z.NEVER;
      }
      const n = Number(v);
      if (n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be between ${min} and ${max}, got ${n}` });
        return z.NEVER;
      }
      return n;
    });

const intVar = (def: number, min: number, max = Number.MAX_SAFE_INTEGER) => optionalIntVar(min, max).transform((n) => n ?? def);

const boolVar = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? def : v === 'true' || v === '1'));

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const envSchema = z.object({
  NODE_ENV: z.string().optional(),
  PORT: intVar(3000, 0, 65535),
  HOST: z.string().min(1).optional().default('0.0.0.0'),
  REDIS_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || v.split(',').every((u) => /^rediss?:\/\/\S*$/.test(u.trim())), {
      message: 'must start with redis:// or rediss:// (a comma list of them with REDIS_CLUSTER=true)',
    }),
  /** REDIS_URL names the seed nodes of a Redis Cluster (docs/scaling.md "Redis Cluster"). */
  REDIS_CLUSTER: boolVar(false),
  /** Hash-tag partitions of a Redis Cluster deployment: the same on every instance, fixed for its lifetime. */
  REDIS_PARTITIONS: intVar(32, 2, 4096),
  /** Sentinel: `host:port` comma list, with the monitored primary's name. */
  REDIS_SENTINELS: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || v.split(',').every((h) => /^[^\s:,]+:\d{1,5}$/.test(h.trim())), { message: 'must be a comma list of host:port' }),
  REDIS_SENTINEL_NAME: z.string().optional(),
  REDIS_SENTINEL_PASSWORD: z.string().optional(),
  CORS_ORIGINS: z.string().optional(),
  /** Where people reach this server (the join links in calendar events); unset: the request's own origin. */
  PUBLIC_URL: z
    .string()
    .optional()
    .refine(
      (v) => {
        if (v === undefined || v.trim() === '') return true;
        try {
          const u = new URL(v.trim());
          return (u.protocol === 'https:' || u.protocol === 'http:') && !u.search && !u.hash && !u.username && !u.password;
        } catch {
          return false;
        }
      },
      { message: 'must be an absolute http(s) URL without query, fragment or credentials, e.g. https://focus.example.com' },
    ),
  MAX_PARTICIPANTS: intVar(4, LIMITS.maxParticipantsMin, LIMITS.maxParticipantsMax),
  DISCONNECT_GRACE_MS: intVar(60_000, 0, 24 * 3600_000),
  ROOM_TTL_MS: intVar(2 * 3600_000, 1_000, 7 * 24 * 3600_000),
  /** A booked seat not connected this long after the start is a no-show (capped per room at its first focus phase). */
  NO_SHOW_GRACE_MS: intVar(LIMITS.noShowGraceDefault, 1_000, LIMITS.sessionDurationMax),
  SHUTDOWN_GRACE_MS: intVar(10_000, 0, 600_000),
  /** Default: 1 s, or half the grace when that is less (a value set above half the grace is refused below). */
  SHUTDOWN_DRAIN_MS: optionalIntVar(0, 600_000),
  LOG_LEVEL: z.enum(LOG_LEVELS).optional().default('info'),
  USER_KEY_SECRET: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || v.length >= 32, { message: 'must be at least 32 characters' }),
  AUTH_JWT_SECRET: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || v.length >= 16, { message: 'must be at least 16 characters' }),
  // Asymmetric JWTs (RS256/PS256/ES256/ES384/EdDSA) checked against a JWKS, e.g. an identity provider's.
  AUTH_JWKS_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || /^https?:\/\/[^\s]+$/.test(v), { message: 'must be an http(s) URL' }),
  /** When set, tokens must carry this `iss` / `aud` (either auth mode). */
  AUTH_JWT_ISSUER: z.string().optional(),
  AUTH_JWT_AUDIENCE: z.string().optional(),
  INSTANCE_ID: z.string().max(64).optional(),
  INSTANCE_TIMEOUT_MS: intVar(10_000, 1_000, 600_000),
  TRUST_PROXY: boolVar(false),
  RATE_SOCKET_EVENTS_PER_SEC: intVar(20, 1, 100_000),
  RATE_JOIN_FAILURES_PER_MIN: intVar(20, 1, 1_000_000),
  RATE_CONNECTIONS_PER_MIN: intVar(300, 1, 10_000_000),
  RATE_CREATES_PER_MIN: intVar(30, 1, 1_000_000),
  /** /me/* reads per identity and per address, in cost points a minute (limits/read-cost.ts). */
  RATE_ME_POINTS_PER_MIN: intVar(120, 20, 10_000_000),
  RATE_ME_ADDRESS_POINTS_PER_MIN: intVar(600, 20, 10_000_000),
  // Abuse and load bounds (docs/reliability.md "Load and abuse").
  MAX_BUFFERED_BYTES: intVar(1024 * 1024, LIMITS.maxFrameBytes, 1024 * 1024 * 1024),
  CONNECT_TIMEOUT_MS: intVar(5_000, 100, 120_000),
  MAX_PENDING_PER_ADDRESS: intVar(20, 1, 1_000_000),
  MAX_CONNECTIONS_PER_ADDRESS: intVar(5_000, 1, 10_000_000),
  MAX_CONNECTIONS: intVar(30_000, 1, 10_000_000),
  HTTP_HEADERS_TIMEOUT_MS: intVar(10_000, 100, 600_000),
  HTTP_REQUEST_TIMEOUT_MS: intVar(30_000, 100, 600_000),
  RATE_ADDRESS_EVENTS_PER_SEC: intVar(500, 1, 10_000_000),
  RATE_INSTANCE_EVENTS_PER_SEC: intVar(6_000, 1, 10_000_000),
  EVENT_LOOP_LAG_SHED_MS: intVar(100, 10, 60_000),
  RATE_ROOM_CONTROLS_PER_MIN: intVar(30, 1, 1_000_000),
  MAX_ROOMS: intVar(10_000, 1, 100_000_000),
  MAX_ROOMS_PER_ADDRESS: intVar(100, 1, 100_000_000),
  MAX_ROOMS_PER_IDENTITY: intVar(20, 1, 100_000_000),
  MAX_ROOM_BYTES: intVar(512 * 1024, 4 * 1024, 64 * 1024 * 1024),
  METRICS_TOKEN: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || (v.length >= 16 && v.length <= 512 && !/\s/.test(v)), { message: 'must be 16–512 characters without spaces' }),
  DATABASE_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || /^postgres(ql)?:\/\//.test(v), { message: 'must start with postgres:// or postgresql://' }),
  DATA_DIR: z.string().optional(),
  OUTBOX_MAX: intVar(100_000, 100, 10_000_000),
  OUTBOX_MAX_BYTES: intVar(64 * 1024 * 1024, 64 * 1024, 16 * 1024 * 1024 * 1024),
  WEBHOOK_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || /^https?:\/\/[^\s]+$/.test(v), { message: 'must be an http(s) URL' }),
  WEBHOOK_SECRET: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || /^(whsec_)?[A-Za-z0-9+/=]{16,}$/.test(v), { message: 'must be a base64 secret (optionally whsec_-prefixed), at least 16 characters' }),
  WEBHOOK_MAX_ATTEMPTS: intVar(8, 1, 100),
  WEBHOOK_TIMEOUT_MS: intVar(5_000, 100, 60_000),
  // Web Push (docs/push.md): all three or none; `node scripts/vapid-keys.mjs` makes a pair.
  VAPID_PUBLIC_KEY: z
    .string()
    .optional()
    .refine((v) => !v || isP256PublicKey(v), { message: 'must be an uncompressed P-256 public key, base64url (65 bytes, from scripts/vapid-keys.mjs)' }),
  VAPID_PRIVATE_KEY: z
    .string()
    .optional()
    .refine((v) => !v || base64urlBytes(v) === 32, { message: 'must be a P-256 private key, base64url (32 bytes, from scripts/vapid-keys.mjs)' }),
  VAPID_SUBJECT: z
    .string()
    .optional()
    .refine((v) => !v || /^(mailto:[^\s@]+@[^\s@]+|https:\/\/[^\s]+)$/.test(v), { message: 'must be a mailto: address or an https: URL (push services contact you there)' }),
  /** Accept http: push endpoints (tests with a local push service); browsers' are always https:. */
  PUSH_ALLOW_HTTP: boolVar(false),
  REMINDER_LEAD_MS: intVar(5 * 60_000, 1_000, 24 * 3600_000),
  PUSH_TIMEOUT_MS: intVar(10_000, 100, 60_000),
  PUSH_LEASE_MS: intVar(30_000, 1_000, 10 * 60_000),
  PUSH_WORKER_NICE: intVar(5, 0, 19),
  PUSH_WORKER_IDLE: boolVar(false),
});

const base64urlBytes = (v: string): number => (/^[A-Za-z0-9_-]+$/.test(v) ? Buffer.from(v, 'base64url').length : -1);
const isP256PublicKey = (v: string): boolean => base64urlBytes(v) === 65 && Buffer.from(v, 'base64url')[0] === 4;

/**
 * Where cluster mode's Redis is: one server (standalone), a primary found through
 * Sentinel, or a Redis Cluster. Sentinel's and the cluster's nodes take the credentials,
 * TLS and database of REDIS_URL (its host is ignored with Sentinel).
 */
export type RedisTopology =
  | { kind: 'standalone'; url: string }
  | { kind: 'sentinel'; sentinels: { host: string; port: number }[]; name: string; sentinelPassword: string | null; url: string | null }
  | { kind: 'cluster'; urls: string[]; partitions: number };

type Env = z.output<typeof envSchema>;

/** The topology the Redis variables name; undefined after reporting a contradiction. */
function redisTopologyOf(e: Env, ctx: z.RefinementCtx): RedisTopology | null | undefined {
  const urls = (e.REDIS_URL ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  const fail = (path: string, message: string) => {
    ctx.addIssue({ code: 'custom', path: [path], message });
    return undefined;
  };
  if (e.REDIS_SENTINELS) {
    if (!e.REDIS_SENTINEL_NAME) return fail('REDIS_SENTINEL_NAME', 'must be set with REDIS_SENTINELS (the name the sentinels monitor)');
    if (e.REDIS_CLUSTER) return fail('REDIS_CLUSTER', 'Redis Cluster and Sentinel exclude each other');
    if (urls.length > 1) return fail('REDIS_URL', 'with REDIS_SENTINELS, at most one URL (credentials and TLS of the data nodes)');
    const sentinels = e.REDIS_SENTINELS.split(',').map((h) => {
      const [host = '', port = ''] = h.trim().split(/:(?=\d+$)/);
      return { host, port: Number(port) };
    });
    return { kind: 'sentinel', sentinels, name: e.REDIS_SENTINEL_NAME, sentinelPassword: e.REDIS_SENTINEL_PASSWORD || null, url: urls[0] ?? null };
  }
  if (e.REDIS_SENTINEL_NAME) return fail('REDIS_SENTINELS', 'must be set with REDIS_SENTINEL_NAME');
  if (e.REDIS_CLUSTER) {
    if (urls.length === 0) return fail('REDIS_URL', 'must name the seed nodes with REDIS_CLUSTER=true');
    return { kind: 'cluster', urls, partitions: e.REDIS_PARTITIONS };
  }
  if (urls.length > 1) return fail('REDIS_URL', 'a comma list of URLs needs REDIS_CLUSTER=true');
  return urls[0] ? { kind: 'standalone', url: urls[0] } : null;
}

/** The drain default when SHUTDOWN_DRAIN_MS is unset (capped at half the grace). */
const DEFAULT_DRAIN_MS = 1_000;

/** The environment, checked, as the app's configuration. */
const configSchema = envSchema.transform((e, ctx) => {
  const halfGrace = Math.floor(e.SHUTDOWN_GRACE_MS / 2);
  if (e.SHUTDOWN_DRAIN_MS !== undefined && e.SHUTDOWN_DRAIN_MS > halfGrace) {
    // The other half of the grace is for closing sockets and releasing Redis; a longer drain would be cut short.
    ctx.addIssue({
      code: 'custom',
      path: ['SHUTDOWN_DRAIN_MS'],
      message: `must be at most half of SHUTDOWN_GRACE_MS (${e.SHUTDOWN_GRACE_MS} ms → at most ${halfGrace}), got ${e.SHUTDOWN_DRAIN_MS}`,
    });
    return z.NEVER;
  }
  const redis = redisTopologyOf(e, ctx);
  if (redis === undefined) return z.NEVER;
  if (Boolean(e.WEBHOOK_URL) !== Boolean(e.WEBHOOK_SECRET)) {
    ctx.addIssue({ code: 'custom', path: ['WEBHOOK_URL'], message: 'WEBHOOK_URL and WEBHOOK_SECRET must be set together' });
    return z.NEVER;
  }
  const vapidSet = [e.VAPID_PUBLIC_KEY, e.VAPID_PRIVATE_KEY, e.VAPID_SUBJECT].filter(Boolean).length;
  if (vapidSet !== 0 && vapidSet !== 3) {
    ctx.addIssue({ code: 'custom', path: ['VAPID_PUBLIC_KEY'], message: 'VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT must be set together' });
    return z.NEVER;
  }
  const dataDir = e.DATA_DIR?.trim() || './data';
  const production = e.NODE_ENV === 'production';
  const origins = (e.CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  return {
    port: e.PORT,
    host: e.HOST,
    /** null = single-instance mode (memory store); else the Redis the instances share. */
    redis,
    /** null = allow any origin: development default; in production only the listed ones (none = same-origin only). */
    corsOrigins: origins.includes('*') || (origins.length === 0 && !production) ? null : origins,
    /** Base of the links the server hands out (calendar events), no trailing slash; null = the request's origin. */
    publicUrl: e.PUBLIC_URL?.trim() ? e.PUBLIC_URL.trim().replace(/\/+$/, '') : null,
    maxParticipants: e.MAX_PARTICIPANTS,
    disconnectGraceMs: e.DISCONNECT_GRACE_MS,
    roomTtlMs: e.ROOM_TTL_MS,
    noShowGraceMs: e.NO_SHOW_GRACE_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    /** After a signal: how long /health answers 503 while sockets still work, before they are closed (at most half the grace). */
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS ?? Math.min(DEFAULT_DRAIN_MS, halfGrace),
    logLevel: e.LOG_LEVEL,
    authJwtSecret: e.AUTH_JWT_SECRET || null,
    /** The HMAC secret of issued user keys (domain/user-keys.ts); null = generated and kept (runtime/user-key-secret.ts). */
    userKeySecret: e.USER_KEY_SECRET || null,
    /** JWKS URL for asymmetric tokens; with the secret also set, the token's `alg` picks the key. */
    authJwksUrl: e.AUTH_JWKS_URL || null,
    authJwtIssuer: e.AUTH_JWT_ISSUER || null,
    authJwtAudience: e.AUTH_JWT_AUDIENCE || null,
    instanceId: e.INSTANCE_ID || `${hostname()}-${process.pid}`,
    /** Cluster mode: an instance silent this long is dead; its seats start their grace. */
    instanceTimeoutMs: e.INSTANCE_TIMEOUT_MS,
    trustProxy: e.TRUST_PROXY,
    /** Bearer token GET /metrics demands; null = /metrics is open (keep it off the public network then). */
    metricsToken: e.METRICS_TOKEN || null,
    /**
     * The store of record for completed rounds: PostgreSQL at `url`, or embedded (SQLite, in a worker thread) in
     * `dataDir` (':memory:' keeps nothing), or none ('off'; also in cluster mode without
     * DATABASE_URL, since one embedded database per instance would split a user's history).
     */
    database: (e.DATABASE_URL
      ? { kind: 'postgres', url: e.DATABASE_URL }
      : dataDir === 'off' || redis
        ? { kind: 'off' }
        : { kind: 'sqlite', dataDir }) as { kind: 'postgres'; url: string } | { kind: 'sqlite'; dataDir: string } | { kind: 'off' },
    /** Records waiting for the database in single-instance mode (the bounded memory outbox), per reader. */
    outboxMax: e.OUTBOX_MAX,
    /** The same queues' bound in JSON bytes of their entries (memory outbox), per reader. */
    outboxMaxBytes: e.OUTBOX_MAX_BYTES,
    /** Signed webhooks (Standard Webhooks); null = none. */
    webhook:
      e.WEBHOOK_URL && e.WEBHOOK_SECRET
        ? { url: e.WEBHOOK_URL, secret: e.WEBHOOK_SECRET, maxAttempts: e.WEBHOOK_MAX_ATTEMPTS, timeoutMs: e.WEBHOOK_TIMEOUT_MS }
        : null,
    /** Web Push (VAPID); null = off, and its routes answer 503 `unavailable`. */
    push:
      vapidSet === 3
        ? {
            vapid: { publicKey: e.VAPID_PUBLIC_KEY!, privateKey: e.VAPID_PRIVATE_KEY!, subject: e.VAPID_SUBJECT! },
            allowHttp: e.PUSH_ALLOW_HTTP,
            /** How long before a booked room's start its participants are reminded. */
            reminderLeadMs: e.REMINDER_LEAD_MS,
            /** One request to a push service; a hanging one is cut after this. */
            timeoutMs: e.PUSH_TIMEOUT_MS,
            /** A delivery claimed by an instance that stopped renewing it is sent by another after this. */
            leaseMs: e.PUSH_LEASE_MS,
            /** How much lower than the process the push worker thread runs (Linux nice): the rooms' ticks get the CPU first. */
            workerNice: e.PUSH_WORKER_NICE,
            /** Linux: the push worker thread runs under SCHED_IDLE (any other thread preempts it at once); falls back to workerNice. */
            workerIdle: e.PUSH_WORKER_IDLE,
          }
        : null,
    rateLimits: {
      /** Events one socket may send per second (burst), beyond which it gets `rate_limited`. */
      socketEventsPerSec: e.RATE_SOCKET_EVENTS_PER_SEC,
      /** Failed joins (unknown code) per client address per minute: makes guessing codes hopeless. */
      joinFailuresPerMin: e.RATE_JOIN_FAILURES_PER_MIN,
      /** New connections per client address per minute. */
      connectionsPerMin: e.RATE_CONNECTIONS_PER_MIN,
      /** Rooms created per client address per minute. */
      createsPerMin: e.RATE_CREATES_PER_MIN,
      /** Events per second from one client address (IPv6 grouped by /64), all its sockets together. */
      addressEventsPerSec: e.RATE_ADDRESS_EVENTS_PER_SEC,
      /** Events per second this instance accepts from all clients together. */
      instanceEventsPerSec: e.RATE_INSTANCE_EVENTS_PER_SEC,
      /** Host controls (start, pause, resume, settings) per room per minute. */
      roomControlsPerMin: e.RATE_ROOM_CONTROLS_PER_MIN,
      /** /me/* per identity, in cost points a minute (a stats read 10, a history page 1 + limit/10, DELETE /me 20). */
      mePointsPerMin: e.RATE_ME_POINTS_PER_MIN,
      /** /me/* per client address, in the same points: several identities from one address share it. */
      meAddressPointsPerMin: e.RATE_ME_ADDRESS_POINTS_PER_MIN,
    },
    /** Connection and load bounds of one instance (docs/reliability.md "Load and abuse"). */
    transport: {
      /** A socket whose unsent output passes this is disconnected (a client that stopped reading). */
      maxBufferedBytes: e.MAX_BUFFERED_BYTES,
      /** An Engine.IO session that sent no Socket.IO connect within this is closed. */
      connectTimeoutMs: e.CONNECT_TIMEOUT_MS,
      /** Such bare sessions per client address at once. */
      maxPendingPerAddress: e.MAX_PENDING_PER_ADDRESS,
      /** Open connections (bare or not) per client address on this instance. */
      maxConnectionsPerAddress: e.MAX_CONNECTIONS_PER_ADDRESS,
      /** Open connections on this instance. */
      maxConnections: e.MAX_CONNECTIONS,
      /** Node's http headersTimeout / requestTimeout: a slowloris request is cut after these. */
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      // Node requires requestTimeout >= headersTimeout.
      requestTimeoutMs: Math.max(e.HTTP_REQUEST_TIMEOUT_MS, e.HTTP_HEADERS_TIMEOUT_MS),
      /** Above this event-loop lag, new client events are refused (`unavailable`) until it recovers. */
      lagShedMs: e.EVENT_LOOP_LAG_SHED_MS,
    },
    /** Live rooms (cluster-wide with Redis); a create beyond it is `unavailable`. */
    maxRooms: e.MAX_ROOMS,
    /** Live rooms one address / one identity may have created (booked ones included); a create beyond is `rate_limited`. */
    roomQuota: { perAddress: e.MAX_ROOMS_PER_ADDRESS, perIdentity: e.MAX_ROOMS_PER_IDENTITY },
    /** One room's serialized size; a change that would grow it past this is refused. */
    maxRoomBytes: e.MAX_ROOM_BYTES,
  };
});

export type Config = z.output<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}
