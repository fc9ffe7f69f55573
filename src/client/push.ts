/**
 * Web Push over REST (docs/push.md), for browsers and Node alike: the server's VAPID key
 * and the caller's subscriptions. The credential is the /me routes' Bearer: the JWT with
 * auth on, the `user_key` from a create/join reply without. Failures reject with a
 * FocusroomError carrying the wire code (`unavailable` when push is off).
 */
import type { PushSubscriptionInput } from '../contract/push-schemas.js';
import { FocusroomError } from './errors.js';

/** What `PushSubscription.toJSON()` gives in a browser. */
export type PushSubscriptionJson = Omit<PushSubscriptionInput, 'expirationTime'> & { expirationTime?: number | null };

async function rest<T>(base: string, path: string, init: { method?: string; credential?: string; body?: unknown; timeoutMs: number }): Promise<T> {
  const headers: Record<string, string> = {};
  if (init.credential) headers.authorization = `Bearer ${init.credential}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(new URL(path, base), {
      method: init.method ?? 'GET',
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(init.timeoutMs),
    });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    throw new FocusroomError(timedOut ? 'timeout' : 'disconnected', timedOut ? 'the server did not answer in time' : 'could not reach the server');
  }
  const body = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!res.ok) {
    const e = body?.error;
    throw new FocusroomError((e?.code ?? 'internal') as FocusroomError['code'], e?.message ?? `HTTP ${res.status}`);
  }
  return body as T;
}

/** The VAPID public key for `pushManager.subscribe({ applicationServerKey })`; null when the server has push off. */
export async function vapidPublicKey(base: string, timeoutMs = 8_000): Promise<string | null> {
  try {
    return (await rest<{ key: string }>(base, '/push/vapid-public-key', { timeoutMs })).key;
  } catch (err) {
    if (err instanceof FocusroomError && err.code === 'unavailable') return null;
    throw err;
  }
}

/** Stores the subscription for the caller's identity; the same endpoint again returns the same id. */
export async function subscribePush(base: string, credential: string, subscription: PushSubscriptionJson, timeoutMs = 8_000): Promise<{ id: string }> {
  const { endpoint, keys } = subscription;
  return rest(base, '/me/push-subscriptions', { method: 'POST', credential, body: { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } }, timeoutMs });
}

export async function unsubscribePush(base: string, credential: string, id: string, timeoutMs = 8_000): Promise<void> {
  await rest(base, `/me/push-subscriptions/${encodeURIComponent(id)}`, { method: 'DELETE', credential, timeoutMs });
}
