/**
 * The room's task list over REST, for integrations (a chat bot, a backend): the twin of
 * add_task / update_task / remove_task. Same schemas, same change functions
 * (domain/task-changes.ts), same RoomService.apply, so the room hears the same
 * `task_added` / `task_updated` / `task_removed` with the next `seq`. Authorized by a
 * seat's resume_token (auth/rest-auth.ts), which also spends that seat's event budget.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../contract/errors.js';
import { roomCodeParamsSchema, seatAuthHeadersSchema, seatErrorResponses, taskSchema } from '../contract/http-schemas.js';
import { addTaskSchema, roomCodeSchema, taskChangesSchema, taskIdSchema } from '../contract/schemas.js';
import type { Clock } from '../domain/clock.js';
import type { RateLimits } from '../limits/rate-limits.js';
import type { RoomService } from '../rooms/room-service.js';
import { addTaskChange, removeTaskChange, type SeatChange, updateTaskChange, withSeq } from '../domain/task-changes.js';
import type { CallerResolver } from '../auth/caller.js';
import { authorizeSeat, type FloodBudget, type Seat } from '../auth/rest-auth.js';

export interface TaskRouteDeps {
  rooms: RoomService;
  clock: Clock;
  limits: RateLimits;
  callers: CallerResolver;
  budget?: FloodBudget;
}

const taskParamsSchema = z.strictObject({ code: roomCodeSchema, id: taskIdSchema });
const taskReplySchema = z.object({ task: taskSchema, seq: z.number().int() }).meta({ id: 'TaskChange' });
const security = [{ seatToken: [] }];
const tags = ['tasks'];

export function taskRoutes(app: FastifyInstance, deps: TaskRouteDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const seatOf = (req: FastifyRequest, code: string) => authorizeSeat(req, code, { callers: deps.callers, getRoom: (c) => deps.rooms.get(c), limits: deps.limits, budget: deps.budget });

  /** The seat's change through the one path every room change takes. */
  async function apply<T extends object>(seat: Seat, change: SeatChange<T>) {
    try {
      return withSeq(await deps.rooms.apply(seat.code, (room) => change(room, seat.participantId, deps.clock.now())));
    } catch (err) {
      // The seat left between the token check and the change: its token no longer works.
      if (err instanceof AppError && err.code === 'not_in_session') throw new AppError('invalid_token', 'that seat is no longer in this session');
      throw err;
    }
  }

  api.get(
    '/sessions/:code/tasks',
    {
      schema: {
        summary: "The room's task list",
        tags,
        security,
        params: roomCodeParamsSchema,
        headers: seatAuthHeadersSchema,
        response: { 200: z.object({ tasks: z.array(taskSchema), seq: z.number().int() }).meta({ id: 'TaskList' }), ...seatErrorResponses },
      },
    },
    async (req) => {
      const { room } = await seatOf(req, req.params.code);
      return { tasks: room.tasks, seq: room.seq };
    },
  );

  api.post(
    '/sessions/:code/tasks',
    {
      schema: {
        summary: 'Add a task (twin of add_task)',
        description: 'Broadcasts `task_added { task, seq }` to the room.',
        tags,
        security,
        params: roomCodeParamsSchema,
        headers: seatAuthHeadersSchema,
        body: addTaskSchema,
        response: { 201: taskReplySchema, ...seatErrorResponses, 409: seatErrorResponses[400], 413: seatErrorResponses[400] },
      },
    },
    async (req, reply) => {
      const seat = await seatOf(req, req.params.code);
      return reply.code(201).send(await apply(seat, addTaskChange(req.body)));
    },
  );

  api.patch(
    '/sessions/:code/tasks/:id',
    {
      schema: {
        summary: 'Change a task (twin of update_task)',
        description: 'Broadcasts `task_updated { task, seq }` to the room.',
        tags,
        security,
        params: taskParamsSchema,
        headers: seatAuthHeadersSchema,
        body: taskChangesSchema,
        response: { 200: taskReplySchema, ...seatErrorResponses, 413: seatErrorResponses[400] },
      },
    },
    async (req) => {
      const seat = await seatOf(req, req.params.code);
      return apply(seat, updateTaskChange({ task_id: req.params.id, ...req.body }));
    },
  );

  api.delete(
    '/sessions/:code/tasks/:id',
    {
      schema: {
        summary: 'Remove a task (twin of remove_task)',
        description: 'Broadcasts `task_removed { task, seq }` to the room. Only the seat that added the task (`created_by`) or the host may remove it: `403 not_host` otherwise.',
        tags,
        security,
        params: taskParamsSchema,
        headers: seatAuthHeadersSchema,
        response: { 204: z.null().meta({ description: 'Removed' }), ...seatErrorResponses, 403: seatErrorResponses[400] },
      },
    },
    async (req, reply) => {
      const seat = await seatOf(req, req.params.code);
      await apply(seat, removeTaskChange({ task_id: req.params.id }));
      return reply.code(204).send(null);
    },
  );
}
