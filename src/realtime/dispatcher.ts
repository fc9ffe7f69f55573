/**
 * Every client event enters here: rate limit → validate → handler → reply.
 * Replies go both to the ack (`{ ok, ... }`) and as the Fidan events, so clients
 * without acks work. Events of one socket run one at a time, in order, so a double
 * `create_session` cannot create two rooms.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { z } from 'zod';
import { AppError } from '../contract/errors.js';
import { CLIENT_EVENT_SCHEMAS, type ClientEventName, describeIssue, emptySchema, isClientEventName } from '../contract/schemas.js';
import type { Metrics } from '../metrics.js';
import { toAppError } from '../store/store-errors.js';
import type { EventBudget, ShedReason } from '../limits/event-budget.js';
import type { HandlerContext } from './handler-context.js';
import {
  addTaskHandler,
  pauseSession,
  removeTaskHandler,
  resumeTimerHandler,
  setIntentionHandler,
  setRecapHandler,
  startSession,
  updateSettingsHandler,
  updateStatusHandler,
  updateTaskHandler,
} from './handlers/room-handlers.js';
import { setTicks, timeSync } from './handlers/connection-handlers.js';
import { createSession, joinSession, leaveSession, resumeSession } from './handlers/session-handlers.js';
import type { TypedSocket } from './types.js';

type Handlers = { [E in ClientEventName]: (ctx: HandlerContext, input: z.output<(typeof CLIENT_EVENT_SCHEMAS)[E]>) => Promise<object> };

const HANDLERS: Handlers = {
  create_session: createSession,
  join_session: joinSession,
  resume_session: resumeSession,
  leave_session: leaveSession,
  start_session: startSession,
  pause_session: pauseSession,
  resume_timer: resumeTimerHandler,
  update_settings: updateSettingsHandler,
  update_status: updateStatusHandler,
  add_task: addTaskHandler,
  update_task: updateTaskHandler,
  remove_task: removeTaskHandler,
  time_sync: timeSync,
  set_ticks: setTicks,
  set_intention: setIntentionHandler,
  set_recap: setRecapHandler,
};

/** The Fidan reply event for a successful call, besides the ack. */
const REPLY_EVENTS: Partial<Record<ClientEventName, 'session_created' | 'session_joined'>> = {
  create_session: 'session_created',
  join_session: 'session_joined',
  resume_session: 'session_joined',
};

const BUSY = Object.freeze(new AppError('unavailable', 'the server is busy; try again shortly').toWire());
const OVER_BUDGET = Object.freeze(new AppError('rate_limited', 'too many events from your network; slow down').toWire());

/** Events queued per socket before new ones are refused outright. */
const MAX_QUEUED = 64;

type AckFn = (response: unknown) => void;


export class Dispatcher {
  private readonly queues = new WeakMap<TypedSocket, { tail: Promise<void>; size: number }>();
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly deps: Omit<HandlerContext, 'socket'>,
    private readonly metrics: Metrics,
    private readonly log: FastifyBaseLogger,
    private readonly flood: { budget: EventBudget; pauseReading(socket: TypedSocket): void } | null = null,
  ) {}

  /** Entry point for `socket.onAny`. */
  handle(socket: TypedSocket, event: string, args: unknown[]): void {
    const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as AckFn) : null;
    const shed = this.flood?.budget.take(socket.data.ip, socket);
    if (shed) {
      this.shed(socket, event, ack, shed);
      return;
    }
    if ((this.queues.get(socket)?.size ?? 0) >= MAX_QUEUED) {
      this.fail(socket, event, ack, new AppError('rate_limited', 'too many events in flight; slow down'));
      return;
    }
    this.enqueue(socket, () => this.process(socket, event, args, ack));
  }

  /** Work that must finish for this socket even as it disconnects (its grace period). */
  runInOrder(socket: TypedSocket, task: () => Promise<void>): void {
    const run = this.enqueue(socket, () => task().catch((err) => this.log.error({ err, socket: socket.id }, 'socket task failed')));
    this.inflight.add(run);
    void run.finally(() => this.inflight.delete(run));
  }

  /**
   * Chains `task` after the socket's pending ones. The queue is dropped once empty, so
   * an idle socket costs the dispatcher nothing (memory per idle connection).
   */
  private enqueue(socket: TypedSocket, task: () => Promise<void>): Promise<void> {
    let queue = this.queues.get(socket);
    if (!queue) {
      queue = { tail: Promise.resolve(), size: 0 };
      this.queues.set(socket, queue);
    }
    const q = queue;
    q.size += 1;
    q.tail = q.tail.then(task).finally(() => {
      q.size -= 1;
      if (q.size === 0 && this.queues.get(socket) === q) this.queues.delete(socket);
    });
    return q.tail;
  }

  /** Resolves when every queued disconnect has reached the store (graceful shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  private async process(socket: TypedSocket, event: string, args: unknown[], ack: AckFn | null): Promise<void> {
    const known = isClientEventName(event);
    this.metrics.eventsIn.inc({ event: known ? event : 'unknown' });
    try {
      // A seated socket spends its seat's budget, which REST calls of that seat share.
      const seat = socket.data.participantId;
      await (seat ? this.deps.limits.seatEvent(seat) : this.deps.limits.event(socket.id));
      if (!known) throw new AppError('invalid_payload', `unknown event "${String(event).slice(0, 40)}"`);
      if (args.length > 1) throw new AppError('invalid_payload', 'expected one payload object');
      const schema = CLIENT_EVENT_SCHEMAS[event];
      const raw = args[0] === undefined && schema === emptySchema ? {} : args[0];
      const parsed = schema.safeParse(raw);
      if (!parsed.success) throw new AppError('invalid_payload', describeIssue(parsed.error));
      const handler = HANDLERS[event] as (ctx: HandlerContext, input: unknown) => Promise<object>;
      const result = await handler({ ...this.deps, socket }, parsed.data);
      ack?.({ ok: true, ...result });
      const reply = REPLY_EVENTS[event];
      if (reply) socket.emit(reply, result as never);
    } catch (err) {
      this.fail(socket, event, ack, err);
    }
  }

  /**
   * An event refused by the address / instance budget or by load shedding, before any
   * queueing or validation: answered (ack and Fidan event, fixed payloads) for the first
   * few per socket per second, then dropped without a word, so a flood cannot make the
   * server write one error per event; and a socket shed for overload (one of the heaviest
   * senders) or sending more than a well-behaved client is not read from for a moment (a
   * light one refused by a spent address or instance budget is read on time, so its later
   * events do not arrive in a burst).
   */
  private shed(socket: TypedSocket, event: string, ack: AckFn | null, reason: ShedReason): void {
    this.metrics.shedEvents.inc({ reason });
    // A lag refusal only ever hits a sender above the overload's cut: the heaviest ones.
    if (reason === 'lag' || this.flood!.budget.isHeavy(socket)) this.flood!.pauseReading(socket);
    if (!this.flood!.budget.answerRefusal(socket)) return;
    const error = reason === 'lag' ? BUSY : OVER_BUDGET;
    ack?.({ ok: false, error });
    if (event === 'join_session') socket.emit('join_error', { error: error.message, code: error.code });
    else socket.emit('error', error);
  }

  private fail(socket: TypedSocket, event: string, ack: AckFn | null, err: unknown): void {
    const error = toAppError(err);
    if (error.code === 'internal' || error.code === 'unavailable') {
      this.log.error({ err, event: String(event).slice(0, 40), room: socket.data.roomCode, socket: socket.id }, 'event failed');
    }
    this.metrics.errors.inc({ code: error.code });
    ack?.({ ok: false, error: error.toWire() });
    if (event === 'join_session') socket.emit('join_error', { error: error.message, code: error.code });
    else socket.emit('error', { message: error.message, code: error.code });
  }
}
