/**
 * The client address every per-address limit is keyed by (connections, bare sessions,
 * events, creates, failed joins; socket and HTTP alike), so one client has one budget.
 */
import { isIPv6 } from 'node:net';

/**
 * With TRUST_PROXY=true there is exactly one trusted proxy in front, and the address it
 * saw is the LAST X-Forwarded-For entry: a proxy that appends (nginx's
 * `$proxy_add_x_forwarded_for`) keeps whatever the client sent in front of it, so taking
 * the first entry let a guesser pick a fresh "address" per request and escape the
 * join-failure limit (rate-limits.test.ts). Fastify's `req.ip` is configured to
 * match (one trusted hop, in app.ts).
 */
export function clientAddress(forwardedFor: string | string[] | undefined, peer: string | undefined, trustProxy: boolean): string {
  if (trustProxy) {
    const last = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)?.split(',').at(-1)?.trim();
    if (last) return addressKey(last);
  }
  return addressKey(peer ?? '');
}

/**
 * The limit key of an address. An IPv6 host usually owns a whole /64 (SLAAC, privacy
 * addresses), so counting single IPv6 addresses would give one client 2^64 budgets:
 * IPv6 addresses are grouped by their /64. IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a
 * dual-stack listener reports) is the IPv4 address.
 */
export function addressKey(address: string): string {
  const a = address.trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) return mapped[1]!;
  const bare = a.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!isIPv6(bare)) return a;
  return `${expandIPv6(bare).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, lower-case without leading zeros. */
function expandIPv6(address: string): string[] {
  let text = address.toLowerCase();
  // A trailing dotted IPv4 part (::1.2.3.4) is two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [b0, b1, b2, b3] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => Number.parseInt(g, 16).toString(16));
}
