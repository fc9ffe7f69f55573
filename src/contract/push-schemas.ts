/**
 * Web Push (docs/push.md): the REST schemas of the subscription routes and
 * the payload a service worker receives. Written once: they validate, serialize and
 * generate the OpenAPI document, and the SDK's types come from them.
 */
import { z } from 'zod';

/** Subscriptions one identity may hold (one per browser/device it uses). */
export const PUSH_SUBSCRIPTIONS_MAX = 10;

/** Longest endpoint URL accepted (browsers' are ~200–500 characters). */
const ENDPOINT_MAX = 1_024;

/** base64url of exactly `bytes` bytes (unpadded; a trailing `=` pad is tolerated, as some browsers add it). */
const base64urlOf = (bytes: number, what: string) =>
  z
    .string({ error: `${what} must be a base64url string` })
    .max(200, { error: `${what} is too long` })
    .refine((v) => /^[A-Za-z0-9_-]+={0,2}$/.test(v) && v.replace(/=+$/, '').length === Math.ceil((bytes * 4) / 3), {
      error: `${what} must be base64url of ${bytes} bytes`,
    });

/** A browser's `PushSubscription.toJSON()`: `expirationTime` is accepted and ignored. */
export const pushSubscriptionInputSchema = z
  .object({
    endpoint: z
      .string({ error: 'endpoint must be a URL string' })
      .max(ENDPOINT_MAX, { error: `endpoint must be at most ${ENDPOINT_MAX} characters` })
      .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), { error: 'endpoint must be an http(s) URL' })
      .meta({ description: "The push service URL from the browser's PushSubscription (https: only, unless the server allows http: for tests)." }),
    expirationTime: z.number().nullable().optional(),
    keys: z.object(
      {
        p256dh: base64urlOf(65, 'keys.p256dh').meta({ description: "The browser's P-256 public key (uncompressed point), base64url." }),
        auth: base64urlOf(16, 'keys.auth').meta({ description: 'The 16-byte authentication secret, base64url.' }),
      },
      { error: 'keys must be an object with p256dh and auth' },
    ),
  })
  .meta({ id: 'PushSubscriptionInput', description: "A browser's PushSubscription as JSON (`subscription.toJSON()`)." });

export type PushSubscriptionInput = z.output<typeof pushSubscriptionInputSchema>;

export const pushSubscriptionIdParamsSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'id must be a subscription id' })
    .meta({ description: 'The id POST /me/push-subscriptions returned.' }),
});

export const pushSubscriptionCreatedSchema = z
  .object({ id: z.string().meta({ description: 'Stable per endpoint: subscribing the same browser again returns the same id.' }) })
  .meta({ id: 'PushSubscriptionCreated' });

export const pushSubscriptionListSchema = z
  .object({
    subscriptions: z.array(
      z
        .object({
          id: z.string(),
          endpoint_origin: z.string().meta({ description: 'The push service (the endpoint itself is a secret and is not returned).' }),
          created_at: z.number().int(),
        })
        .meta({ id: 'PushSubscriptionView' }),
    ),
  })
  .meta({ id: 'PushSubscriptionList' });

export const vapidPublicKeySchema = z
  .object({ key: z.string().meta({ description: 'The VAPID public key (base64url): `applicationServerKey` of `pushManager.subscribe`.' }) })
  .meta({ id: 'VapidPublicKey' });

export const pushDeletedSchema = z.object({ deleted: z.literal(true) }).meta({ id: 'PushSubscriptionDeleted' });

export const PUSH_PAYLOAD_TYPES = ['reminder', 'session_started', 'phase_changed', 'session_completed'] as const;

/** What a service worker's `push` event carries (decrypted JSON). */
export const pushPayloadSchema = z
  .object({
    type: z.enum(PUSH_PAYLOAD_TYPES),
    room_code: z.string(),
    title: z.string().nullable(),
    starts_at: z.number().int().nullable(),
    ends_at: z.number().int().nullable().meta({ description: 'end of the phase the room is in (null when not running)' }),
    phase: z.enum(['focus', 'break']),
    round: z.number().int(),
  })
  .meta({ id: 'PushPayload' });

export type PushPayload = z.output<typeof pushPayloadSchema>;
