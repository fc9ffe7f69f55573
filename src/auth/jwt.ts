/**
 * Optional handshake authentication: a JWT in `auth.token`, checked with AUTH_JWT_SECRET
 * (HS256) or against the key set at AUTH_JWKS_URL.
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { Config } from '../config.js';
import { LIMITS } from '../contract/limits.js';
import { userNameSchema } from '../contract/schemas.js';

/** Asymmetric algorithms accepted from a JWKS (never `none`, never HS* with a public key). */
const JWKS_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];

/** The key set could not be fetched or read: the token may be fine, the client may retry. */
export class KeySetUnavailable extends Error {}

/** createRemoteJWKSet, with fetch/timeout/parse failures told apart from "no such key". */
function remoteKeySet(url: string): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(url), { timeoutDuration: 5_000 });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      const keyProblem =
        err instanceof joseErrors.JWKSNoMatchingKey ||
        err instanceof joseErrors.JWKSMultipleMatchingKeys ||
        err instanceof joseErrors.JOSENotSupported ||
        err instanceof joseErrors.JOSEAlgNotAllowed;
      if (keyProblem) throw err;
      throw new KeySetUnavailable(err instanceof Error ? err.message : String(err));
    }
  };
}

/**
 * Verifies a handshake token: HS256 with AUTH_JWT_SECRET, or an asymmetric algorithm with a
 * key from AUTH_JWKS_URL (the token's `alg` picks which when both are set). `sub` and an
 * unexpired `exp` are required; `iss`/`aud` when configured. Null when auth is off.
 */
export function tokenVerifier(config: Config): ((token: string) => Promise<JWTPayload>) | null {
  const secret = config.authJwtSecret ? new TextEncoder().encode(config.authJwtSecret) : null;
  const jwks = config.authJwksUrl ? remoteKeySet(config.authJwksUrl) : null;
  if (!secret && !jwks) return null;
  const claims = {
    requiredClaims: ['sub', 'exp'],
    ...(config.authJwtIssuer ? { issuer: config.authJwtIssuer } : {}),
    ...(config.authJwtAudience ? { audience: config.authJwtAudience } : {}),
  };
  return async (token) => {
    const { alg } = decodeProtectedHeader(token);
    if (alg === 'HS256' && secret) return (await jwtVerify(token, secret, { ...claims, algorithms: ['HS256'] })).payload;
    if (jwks) return (await jwtVerify(token, jwks, { ...claims, algorithms: JWKS_ALGORITHMS })).payload;
    throw new joseErrors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  };
}

/**
 * A display name from the token's `name` claim, held to the same rules as a `user_name`
 * the client sends (cut to the limit in code points, no control characters or lone
 * surrogates); null when it does not qualify, so a token cannot put control characters
 * or half an emoji into a room.
 */
export function nameFromClaim(claim: unknown): string | null {
  if (typeof claim !== 'string') return null;
  const parsed = userNameSchema.safeParse([...claim.trim()].slice(0, LIMITS.userNameMax).join(''));
  return parsed.success ? parsed.data : null;
}
