/**
 * The AsyncAPI 3 document of the Socket.IO protocol, built from the contract itself:
 * client events from CLIENT_EVENT_SCHEMAS (the schemas the dispatcher validates with),
 * their ack results and every server event from server-schemas.ts (checked against the
 * TypeScript types at compile time). Served at GET /asyncapi.json; pure, so tests and
 * docs checks can build it without a server.
 */
import { z } from 'zod';
import { CLIENT_EVENT_SCHEMAS, type ClientEventName } from './schemas.js';
import { ackErrorSchema, CLIENT_ACK_SCHEMAS, SERVER_EVENT_SCHEMAS } from './server-schemas.js';

type Json = Record<string, unknown>;

const SERVER_REPLY_EVENTS = {
  session_created: 'create_session',
  session_joined: 'join_session, resume_session',
  join_error: 'a failed join_session',
  error: 'any other failed request',
} as const;

/**
 * JSON Schema (draft-07, which AsyncAPI's schema format extends) of a zod schema. Named
 * sub-schemas (`.meta({ id })`) come out as `definitions`; they are moved into
 * components.schemas and the refs rewritten, so the document has one copy of each.
 */
function toSchema(schema: z.ZodType, io: 'input' | 'output', shared: Record<string, Json>): Json {
  const json = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' }) as Json;
  const defs = (json.definitions ?? {}) as Record<string, Json>;
  delete json.definitions;
  delete json.$schema;
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node && typeof node === 'object') {
      const out: Json = {};
      for (const [k, v] of Object.entries(node)) {
        out[k] = k === '$ref' && typeof v === 'string' ? v.replace('#/definitions/', '#/components/schemas/') : rewrite(v);
      }
      return out;
    }
    return node;
  };
  for (const [name, def] of Object.entries(defs)) shared[name] ??= rewrite(def) as Json;
  return rewrite(json) as Json;
}

const ref = (path: string) => ({ $ref: path });

export interface AsyncApiOptions {
  version: string;
  /** host:port clients connect to, for the `servers` entry. */
  host?: string;
}

export function buildAsyncApi(opts: AsyncApiOptions): Json {
  const shared: Record<string, Json> = {};
  const messages: Record<string, Json> = {};
  const operations: Record<string, Json> = {};
  const channelMessages: Record<string, Json> = {};

  const addMessage = (key: string, name: string, payload: Json, summary: string) => {
    messages[key] = { name, title: name, summary, contentType: 'application/json', payload };
    channelMessages[key] = ref(`#/components/messages/${key}`);
  };

  const ackError = toSchema(ackErrorSchema, 'output', shared);
  for (const event of Object.keys(CLIENT_EVENT_SCHEMAS) as ClientEventName[]) {
    const docs = `Client request ${event}; answered on its ack.`;
    addMessage(event, event, toSchema(CLIENT_EVENT_SCHEMAS[event], 'input', shared), docs);
    // `{ ok: true, ...result }`: the result's fields beside `ok`, in one object schema.
    const result = CLIENT_ACK_SCHEMAS[event] as unknown as z.ZodObject;
    const ok = toSchema(z.object({ ok: z.literal(true), ...result.shape }), 'output', shared);
    addMessage(`${event}.ack`, `${event} ack`, { oneOf: [ok, ackError] }, `The acknowledgement of ${event}: { ok: true, ...result } or { ok: false, error }.`);
    operations[event] = {
      action: 'receive',
      channel: ref('#/channels/socket'),
      summary: docs,
      messages: [ref(`#/channels/socket/messages/${event}`)],
      reply: { channel: ref('#/channels/socket'), messages: [ref(`#/channels/socket/messages/${event}.ack`)] },
    };
  }
  for (const event of Object.keys(SERVER_EVENT_SCHEMAS) as (keyof typeof SERVER_EVENT_SCHEMAS)[]) {
    const docs = event in SERVER_REPLY_EVENTS ? `Reply to the socket that asked (${SERVER_REPLY_EVENTS[event as keyof typeof SERVER_REPLY_EVENTS]}).` : event === 'time_update' ? 'Countdown tick, once a second on whole seconds of time_left_ms.' : 'Room broadcast, with the room seq; kept in the room history.';
    addMessage(event, event, toSchema(SERVER_EVENT_SCHEMAS[event], 'output', shared), docs);
    operations[`on_${event}`] = {
      action: 'send',
      channel: ref('#/channels/socket'),
      summary: docs,
      messages: [ref(`#/channels/socket/messages/${event}`)],
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'focusroom Socket.IO protocol',
      version: opts.version,
      description:
        'Socket.IO v4, default namespace. Each message is one Socket.IO event whose single argument is the payload; client events may pass an acknowledgement callback, answered with the `.ack` message. Field names are snake_case; times are epoch milliseconds.',
    },
    servers: {
      focusroom: {
        host: opts.host ?? 'localhost:3000',
        protocol: 'ws',
        pathname: '/socket.io/',
        description: 'Socket.IO (Engine.IO v4) over WebSocket, or HTTP long-polling with sticky sessions.',
      },
    },
    defaultContentType: 'application/json',
    channels: {
      socket: {
        address: '/',
        title: 'Default namespace',
        description: 'Every event of a connection: client requests with their acks, and the room broadcasts the server sends.',
        messages: channelMessages,
      },
    },
    operations,
    components: { messages, schemas: shared },
  };
}
