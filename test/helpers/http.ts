/**
 * HTTP against test servers, for tests and the bench (plain Node: no vitest): REST calls
 * (JSON in, status + parsed JSON or null out) and JSON probes with a timeout.
 */
export interface HttpResult {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export type HttpReply = HttpResult;

/**
 * GET `url` and parse the body as JSON (null when it is not JSON); rejects only on a
 * network error or after `timeoutMs`. `connection: close`, so no kept-alive socket holds
 * a server open at close.
 */
export async function getJson(url: string, timeoutMs = 5_000): Promise<HttpResult> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { connection: 'close' } });
  return resultOf(res);
}

/** Status, text, headers and the body parsed as JSON (null when it is not JSON). */
async function resultOf(res: Response): Promise<HttpResult> {
  const text = await res.text();
  let body: any = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  return { status: res.status, body, text, headers: res.headers };
}

export interface HttpOptions {
  method?: string;
  /** A seat's resume_token: sent as `Authorization: Bearer <token>`. */
  token?: string;
  headers?: Record<string, string>;
  /** Sent as JSON unless it is already a string (then as-is, with the given content-type). */
  body?: unknown;
}

export async function http(url: string, opts: HttpOptions = {}): Promise<HttpResult> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  }
  const res = await fetch(url, { method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  return resultOf(res);
}

/** The wire error shape every failed REST call answers with. */
export function expectHttpError(res: HttpResult, status: number, code: string): void {
  if (res.status !== status || res.body?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${res.text.slice(0, 300)}`);
  }
  const keys = Object.keys(res.body).join(',');
  if (keys !== 'error' || typeof res.body.error.message !== 'string' || Object.keys(res.body.error).sort().join(',') !== 'code,message') {
    throw new Error(`error body is not { error: { code, message } }: ${res.text.slice(0, 300)}`);
  }
}
