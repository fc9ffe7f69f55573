/**
 * A promise that rejects with `error()` if `p` has not settled within `ms`; the timer
 * is cleared either way, so a fast answer leaves nothing behind. Used wherever a
 * dependency may hang rather than fail: a Redis PING or first connect, a database ping.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
