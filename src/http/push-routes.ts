/**
 * Web Push subscriptions (docs/push.md): GET /push/vapid-public-key, and the caller's own
 * subscriptions under /me/push-subscriptions (Bearer identity as every /me route). With
 * push off (no VAPID keys) every one answers 503 `unavailable`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError } from '../contract/errors.js';
import { errorBodySchema, identityAuthHeadersSchema, identityErrorResponses } from '../contract/http-schemas.js';
import {
  PUSH_SUBSCRIPTIONS_MAX,
  pushDeletedSchema,
  pushSubscriptionCreatedSchema,
  pushSubscriptionIdParamsSchema,
  pushSubscriptionInputSchema,
  pushSubscriptionListSchema,
  vapidPublicKeySchema,
} from '../contract/push-schemas.js';
import type { Clock } from '../domain/clock.js';
import type { PushSubscriptions } from '../store/push-subscriptions.js';
import type { RateLimits } from '../limits/rate-limits.js';
import type { CallerResolver } from '../auth/caller.js';
import { type FloodBudget, meCaller } from '../auth/rest-auth.js';

export interface PushRoutesDeps {
  /** null: push is off. */
  push: { publicKey: string; allowHttp: boolean } | null;
  subscriptions: PushSubscriptions;
  clock: Clock;
  callers: CallerResolver;
  /** The /me budgets every /me route spends (auth/rest-auth.ts). */
  limits: RateLimits;
  budget?: FloodBudget;
}

/** Each call costs one point of the /me budgets: a subscription is a small keyed write or read. */
const PUSH_ROUTE_COST = 1;

export function pushRoutes(app: FastifyInstance, deps: PushRoutesDeps): void {
  const charged = meCaller(deps);
  const caller = (req: FastifyRequest) => charged(req, PUSH_ROUTE_COST);
  function enabled(): { publicKey: string; allowHttp: boolean } {
    if (!deps.push) throw new AppError('unavailable', 'Web Push is off on this server (no VAPID keys configured)');
    return deps.push;
  }
  const api = app.withTypeProvider<ZodTypeProvider>();
  const common = { tags: ['push'], security: [{ identity: [] }], headers: identityAuthHeadersSchema };

  api.get(
    '/push/vapid-public-key',
    {
      schema: {
        tags: ['push'],
        summary: "The server's VAPID public key",
        description: "Pass it as `applicationServerKey` to the browser's `pushManager.subscribe`. 503 when push is off.",
        response: { 200: vapidPublicKeySchema, 503: errorBodySchema },
      },
    },
    async () => ({ key: enabled().publicKey }),
  );

  api.post(
    '/me/push-subscriptions',
    {
      schema: {
        ...common,
        summary: 'Subscribe a browser to your notices',
        description: `Stores a browser's PushSubscription for your identity: reminders before your booked rooms start, and starts, phase changes and completions of rooms you are in but not connected to (docs/push.md). The same endpoint again refreshes its keys and returns the same id. At most ${PUSH_SUBSCRIPTIONS_MAX} per identity (409 \`invalid_state\` beyond).`,
        body: pushSubscriptionInputSchema,
        response: { 201: pushSubscriptionCreatedSchema, 409: errorBodySchema, 429: errorBodySchema, ...identityErrorResponses },
      },
    },
    async (req, reply) => {
      const push = enabled();
      const { identity } = await caller(req);
      const { endpoint, keys } = req.body;
      if (new URL(endpoint).protocol !== 'https:' && !push.allowHttp) throw new AppError('invalid_payload', 'endpoint must be an https: URL');
      const added = await deps.subscriptions.add(identity, { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth }, created_at: deps.clock.now() }, PUSH_SUBSCRIPTIONS_MAX);
      if ('tooMany' in added) throw new AppError('invalid_state', `at most ${PUSH_SUBSCRIPTIONS_MAX} push subscriptions per identity; delete one first`);
      reply.code(201).header('cache-control', 'no-store');
      return { id: added.id };
    },
  );

  api.get(
    '/me/push-subscriptions',
    {
      schema: {
        ...common,
        summary: 'Your push subscriptions',
        response: { 200: pushSubscriptionListSchema, 429: errorBodySchema, ...identityErrorResponses },
      },
    },
    async (req, reply) => {
      enabled();
      const { identity } = await caller(req);
      const subs = await deps.subscriptions.list(identity);
      reply.header('cache-control', 'no-store');
      return {
        subscriptions: subs
          .sort((a, b) => a.created_at - b.created_at)
          .map((s) => ({ id: s.id, endpoint_origin: new URL(s.endpoint).origin, created_at: s.created_at })),
      };
    },
  );

  api.delete(
    '/me/push-subscriptions/:id',
    {
      schema: {
        ...common,
        summary: 'Unsubscribe a browser',
        params: pushSubscriptionIdParamsSchema,
        response: { 200: pushDeletedSchema, 404: errorBodySchema, 429: errorBodySchema, ...identityErrorResponses },
      },
    },
    async (req) => {
      enabled();
      const { identity } = await caller(req);
      if (!(await deps.subscriptions.remove(identity, req.params.id))) throw new AppError('not_found', 'no such push subscription');
      return { deleted: true as const };
    },
  );
}
