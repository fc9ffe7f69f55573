/**
 * The machine-readable API documents and the human tables cannot drift from the code:
 * GET /asyncapi.json is checked by the real AsyncAPI parser and lists every event of the
 * contract with its payload schema (and, for client events, its ack); the README's event
 * and HTTP tables and docs/protocol.md's error-code tables are checked against the same
 * sources (CLIENT_EVENT_SCHEMAS, SERVER_EVENT_SCHEMAS, ERROR_CODES, HTTP_STATUS and the
 * generated OpenAPI document), so a contract change that forgets the docs fails here.
 */
import { readFileSync } from 'node:fs';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/contract/errors.js';
import { HTTP_STATUS } from '../../src/contract/http-status.js';
import { CLIENT_EVENT_NAMES } from '../../src/contract/schemas.js';
import { SERVER_EVENT_SCHEMAS } from '../../src/contract/server-schemas.js';
import { http } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const PROTOCOL = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
const SERVER_EVENTS = Object.keys(SERVER_EVENT_SCHEMAS);

/** The rows of the first markdown table after `heading`. */
function tableAfter(doc: string, heading: string): string[][] {
  const start = doc.indexOf(heading);
  if (start < 0) throw new Error(`no "${heading}" in the document`);
  const lines = doc.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim()));
  }
  return rows;
}

/** Every `name` in backticks in a cell (event names, codes). */
const namesIn = (cell: string): string[] => [...cell.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);

let server: TestServer;
let asyncDoc: any;
let parsed: Awaited<ReturnType<Parser['parse']>>;
beforeAll(async () => {
  server = await startServer();
  const res = await http(`${server.url}/asyncapi.json`);
  expect(res.status).toBe(200);
  asyncDoc = res.body;
  // The parser is slow (seconds): parse once for every check below.
  parsed = await new Parser().parse(asyncDoc);
}, 60_000);
afterAll(() => server.close());

describe('GET /asyncapi.json', () => {
  it('is a valid AsyncAPI 3 document (the real parser, no errors)', () => {
    expect(asyncDoc.asyncapi).toMatch(/^3\./);
    const { document, diagnostics } = parsed;
    const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).map((d) => `${d.path.join('.')}: ${d.message}`);
    expect(errors).toEqual([]);
    expect(document).toBeDefined();
  });

  it('has every client event with its payload schema and ack, and every server event with its payload', () => {
    const doc = asyncDoc;
    const ops = parsed.document!.operations();
    for (const event of CLIENT_EVENT_NAMES) {
      const op = ops.get(event);
      expect(op, event).toBeDefined();
      expect(op!.action()).toBe('receive');
      expect(op!.messages().all().map((m) => m.name())).toEqual([event]);
      expect(op!.messages().all()[0]!.payload()?.type()).toBe('object');
      expect(op!.reply()?.messages().all().map((m) => m.name())).toEqual([`${event} ack`]);
    }
    for (const event of SERVER_EVENTS) {
      const op = ops.get(`on_${event}`);
      expect(op, event).toBeDefined();
      expect(op!.action()).toBe('send');
      expect(op!.messages().all()[0]!.payload(), event).toBeDefined();
    }
    expect(ops.all()).toHaveLength(CLIENT_EVENT_NAMES.length + SERVER_EVENTS.length);
    // The payload schemas are the validators' schemas: strict objects, the real limits.
    const create = doc.components.messages.create_session.payload;
    expect(create.additionalProperties).toBe(false);
    expect(create.properties.max_participants).toMatchObject({ type: 'integer', minimum: 2, maximum: 50 });
    const added = doc.components.messages.task_added.payload;
    expect(added.required.sort()).toEqual(['seq', 'task']);
  });
});

describe('docs tables match the contract', () => {
  it('README "Client → server" lists exactly the client events', () => {
    const names = tableAfter(README, '### Client → server').flatMap((r) => namesIn(r[0]!));
    expect([...new Set(names)].sort()).toEqual([...CLIENT_EVENT_NAMES].sort());
  });

  it('README "Server → client" lists exactly the server events', () => {
    const names = tableAfter(README, '### Server → client').flatMap((r) => namesIn(r[0]!));
    expect([...new Set(names)].sort()).toEqual([...SERVER_EVENTS].sort());
  });

  it('docs/protocol.md "Error codes" lists exactly ERROR_CODES', () => {
    const names = tableAfter(PROTOCOL, '## Error codes').flatMap((r) => namesIn(r[0]!));
    expect(names).toEqual([...ERROR_CODES]);
  });

  it('docs/protocol.md REST status table gives every code its HTTP_STATUS', () => {
    const rows = tableAfter(PROTOCOL, '### HTTP status of each error code');
    const documented = new Map<string, number>();
    for (const [codes, status] of rows) for (const code of namesIn(codes!)) documented.set(code, Number(/^\d{3}/.exec(status!)?.[0]));
    expect(Object.fromEntries(documented)).toEqual(HTTP_STATUS);
  });

  it('README "HTTP" lists exactly the routes of the OpenAPI document (plus the documents and the web client)', async () => {
    const doc = (await http(`${server.url}/openapi.json`)).body;
    const fromCode = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths as Record<string, object>)) {
      for (const method of Object.keys(ops)) fromCode.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
    }
    // Not API routes: the documents, the web client and the files it loads.
    for (const extra of ['GET /openapi.json', 'GET /asyncapi.json', 'GET /docs', 'GET /', 'GET /sdk/focusroom-client.js', 'GET /socket.io/socket.io.esm.min.js']) fromCode.add(extra);
    const documented = new Set(
      tableAfter(README, '### HTTP').flatMap((r) => [...r[0]!.matchAll(/`((?:GET|POST|PATCH|DELETE|PUT) [^`]+)`/g)].map((m) => m[1]!)),
    );
    expect([...documented].sort()).toEqual([...fromCode].sort());
  });
});
