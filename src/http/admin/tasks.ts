import { z } from 'zod';
import { TASK_STATES, TASK_TYPES } from '../../lifecycle/tasks.ts';
import { retryTaskNow, skipPendingData, type RedriveRefusalCode, type RedriveResult } from '../../queue/redrive.ts';
import type { TaskQueues } from '../../queue/task-queues.ts';
import type { Orm } from '../../store/orm.ts';
import { decideHeldTasks } from '../../store/held-tasks.ts';
import { findTaskById, findTasks, type TaskRecord } from '../../store/tasks.ts';
import { describeTaskReason } from '../../lifecycle/task-reasons.ts';
import { RequestError } from '../errors.ts';
import { namedFields, withNames } from './names.ts';
import { decodeCursor, encodeCursor, idParams, limitQuery, type DefineRoute } from './route.ts';

/**
 * Tasks: read one, list them (the work inbox: needs_decision, held, failed), and the operator's
 * re-drives: "Retry Now" and "Skip Pending Data", both audited by src/queue/redrive.ts.
 */
const taskSchema = z
  .object({
    id: z.uuid(),
    type: z.enum(TASK_TYPES),
    state: z.enum(TASK_STATES),
    userId: z.uuid().nullable(),
    operationId: z.uuid().nullable(),
    payload: z.record(z.string(), z.unknown()),
    attempts: z.number(),
    maxAttempts: z.number(),
    lastError: z.string().nullable(),
    /** Why it waits on a person: `unable_to_retrieve` (device offline or app removed), `deprovision_guard`. */
    reason: z.string().nullable(),
    /** Why it waits on a person, in words ("… 26 in 60 minutes, limit 25."). */
    reasonText: z.string().nullable(),
    /** What the job recorded, e.g. `pendingData` with each app device's state and pending count. */
    result: z.record(z.string(), z.unknown()).nullable(),
    actor: z.string(),
    runAt: z.iso.datetime(),
    startedAt: z.iso.datetime().nullable(),
    finishedAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .openapi('Task');

/** A task as the inbox lists it: with its user and actor by name. */
const namedTaskSchema = taskSchema.extend(namedFields).openapi('NamedTask');

const redriveResponse = z
  .object({ taskId: z.uuid(), from: z.enum(TASK_STATES), action: z.enum(['promoted', 'requeued', 'already_due', 'already_running']), task: taskSchema })
  .openapi('TaskRedrive');

const listQuery = z.object({
  state: z
    .string()
    .optional()
    .transform((v) => (v ? v.split(',') : undefined))
    .pipe(z.array(z.enum(TASK_STATES)).optional()),
  userId: z.uuid().optional(),
  type: z.enum(TASK_TYPES).optional(),
  cursor: z.string().max(500).optional(),
  limit: limitQuery,
});
const cursorSchema = z.object({ updatedAt: z.iso.datetime(), id: z.uuid() });

const REFUSAL_STATUS: Record<RedriveRefusalCode, number> = {
  task_not_found: 404,
  not_retryable: 409,
  not_skippable: 409,
  confirmation_required: 409,
  task_busy: 409,
  state_changed: 409,
};

export function taskJson(task: TaskRecord): z.infer<typeof taskSchema> {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return {
    ...task,
    reasonText: describeTaskReason(task),
    attempts: Number(task.attempts),
    maxAttempts: Number(task.maxAttempts),
    runAt: iso(task.runAt)!,
    startedAt: iso(task.startedAt),
    finishedAt: iso(task.finishedAt),
    createdAt: iso(task.createdAt)!,
    updatedAt: iso(task.updatedAt)!,
  };
}

export function taskRoutes(define: DefineRoute, { orm, queues }: { orm: Orm; queues: TaskQueues }): void {
  async function answer(result: RedriveResult, tenantId: string) {
    if (!result.ok) {
      const { code, message, state } = result.refusal;
      throw new RequestError(code, REFUSAL_STATUS[code], message, state ? { state } : {});
    }
    const task = await findTaskById(orm.em.fork(), tenantId, result.taskId);
    return { status: 200, body: { taskId: result.taskId, from: result.from, action: result.action, task: taskJson(task!) } };
  }

  define({
    method: 'get',
    path: '/tasks',
    tag: 'Tasks',
    summary: 'List tasks, newest first',
    description: '`state` takes a comma-separated list (e.g. `needs_decision,held,failed` for the work inbox).',
    query: listQuery,
    responses: { 200: { description: 'A page of tasks.', schema: z.object({ tasks: z.array(namedTaskSchema), nextCursor: z.string().nullable() }).openapi('TaskPage') } },
    handler: async ({ query, operator }) => {
      const before = decodeCursor(query.cursor, cursorSchema);
      const em = orm.em.fork();
      const { tasks, hasMore } = await findTasks(em, {
        tenantId: operator.tenantId,
        ...(query.state ? { states: query.state } : {}),
        ...(query.userId ? { userId: query.userId } : {}),
        ...(query.type ? { type: query.type } : {}),
        ...(before ? { before } : {}),
        limit: query.limit,
      });
      const last = tasks.at(-1);
      return {
        status: 200,
        body: {
          tasks: await withNames(em, operator.tenantId, tasks.map(taskJson)),
          nextCursor: hasMore && last ? encodeCursor({ updatedAt: new Date(last.updatedAt).toISOString(), id: last.id }) : null,
        },
      };
    },
  });

  define({
    method: 'get',
    path: '/tasks/:id',
    tag: 'Tasks',
    summary: 'Read a task',
    params: idParams,
    responses: { 200: { description: 'The task.', schema: taskSchema }, 404: { description: 'No such task in this tenant.' } },
    handler: async ({ params, operator }) => {
      const task = await findTaskById(orm.em.fork(), operator.tenantId, params.id);
      if (!task) throw new RequestError('task_not_found', 404, 'No such task.');
      return { status: 200, body: taskJson(task) };
    },
  });

  define({
    method: 'post',
    path: '/tasks/:id/retry',
    tag: 'Tasks',
    summary: 'Retry now',
    description: 'Runs a waiting_for_device, needs_decision or failed task again at once. Audited as task.retry.',
    params: idParams,
    responses: {
      200: { description: 'Running again.', schema: redriveResponse },
      404: { description: 'No such task in this tenant.' },
      409: { description: 'not_retryable (its state), task_busy (a worker has it), state_changed.' },
    },
    handler: async ({ params, operator }) =>
      answer(await retryTaskNow(orm, queues, params.id, operator.actor, { tenantId: operator.tenantId }), operator.tenantId),
  });

  define({
    method: 'post',
    path: '/tasks/:id/skip-pending-data',
    tag: 'Tasks',
    summary: 'Skip pending data and go on with the reset',
    description:
      'For a reset waiting for a device or a decision ("Unable to Retrieve Results"): data still on the devices is lost. Requires `confirmDataLoss: true`; audited as task.skip_pending_data.',
    params: idParams,
    body: z.object({ confirmDataLoss: z.boolean().optional() }).strict().openapi('SkipPendingData'),
    responses: {
      200: { description: 'The reset goes on without the pending data.', schema: redriveResponse },
      404: { description: 'No such task in this tenant.' },
      409: { description: 'confirmation_required (confirmDataLoss is not true), not_skippable, task_busy, state_changed.' },
    },
    handler: async ({ params, body, operator }) =>
      answer(
        await skipPendingData(orm, queues, params.id, operator.actor, { confirmDataLoss: body.confirmDataLoss, tenantId: operator.tenantId }),
        operator.tenantId,
      ),
  });

  const heldDecision = z
    .object({
      /** The held tasks to decide; absent: every held task of the tenant. */
      taskIds: z.array(z.uuid()).min(1).max(10_000).optional(),
    })
    .strict()
    .openapi('HeldDecision');
  const heldResult = z.object({ taskIds: z.array(z.uuid()) }).openapi('HeldDecided');
  for (const decision of ['approve', 'reject'] as const) {
    define({
      method: 'post',
      path: `/tasks/held/${decision}`,
      tag: 'Tasks',
      role: 'admin',
      summary: decision === 'approve' ? 'Approve held IdP deprovisioning' : 'Reject held IdP deprovisioning',
      description:
        decision === 'approve'
          ? 'Work the mass-deprovision guard held (reason deprovision_guard) runs now: the listed tasks, or all held ones. Audited as task.held_approved.'
          : 'Held work is cancelled: the users keep access and stay marked as differing from the IdP. Audited as task.held_rejected.',
      body: heldDecision,
      responses: { 200: { description: 'The tasks that were held and are now decided.', schema: heldResult } },
      handler: async ({ body, operator }) => ({
        status: 200,
        body: await orm.em.fork().transactional((em) =>
          decideHeldTasks(em, { tenantId: operator.tenantId, taskIds: body.taskIds ?? null, decision, actor: operator.actor }),
        ),
      }),
    });
  }
}
