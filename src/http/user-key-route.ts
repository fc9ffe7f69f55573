/**
 * POST /user-keys: a user_key for a client that needs an identity before any room (the web
 * page's series and calendar feed). Keys are HMAC-tagged by the server (domain/user-keys.ts),
 * so a client can no longer make its own. Charged to the address's create budget: a key is
 * an identity, with its own /me and room budgets.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../contract/errors.js';
import { errorBodySchema } from '../contract/http-schemas.js';
import type { UserKeys } from '../domain/user-keys.js';
import type { RateLimits } from '../limits/rate-limits.js';

export interface UserKeyRouteDeps {
  userKeys: UserKeys;
  limits: RateLimits;
  /** With auth on the JWT is the identity: no keys are issued. */
  authOn: boolean;
}

export function userKeyRoute(app: FastifyInstance, deps: UserKeyRouteDeps): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/user-keys',
    {
      schema: {
        tags: ['me'],
        summary: 'A new user_key (auth off)',
        description: 'Issues a user_key, as create_session / join_session do for a client that sent none: keep it and send it as `user_key` or `Authorization: Bearer`. Counts against the create rate limit. With auth on, `400 invalid_state` (the JWT is the identity).',
        response: { 201: z.object({ user_key: z.string() }), 400: errorBodySchema, 429: errorBodySchema },
      },
    },
    async (req, reply) => {
      if (deps.authOn) throw new AppError('invalid_state', 'auth is on: your JWT is your identity');
      await deps.limits.create(req.ip);
      reply.header('cache-control', 'no-store');
      return reply.code(201).send({ user_key: deps.userKeys.issue() });
    },
  );
}
