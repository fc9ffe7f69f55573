/**
 * Which browser origins may talk to this server (CORS_ORIGINS), for the socket handshake
 * and the REST API alike: one rule, so REST is no side door around the socket's check.
 * Native apps and backends send no Origin and are let through; our own page is same-origin.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: string[] | null): boolean {
  if (!origin || allowed === null) return true;
  if (allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
