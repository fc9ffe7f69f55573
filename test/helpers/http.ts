/** REST calls against a test server: JSON in, status + parsed JSON (or null) out. */
export interface HttpResult {
  status: number;
  body: any;
  text: string;
  headers: Headers;
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
  const text = await res.text();
  let parsed: any = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
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
