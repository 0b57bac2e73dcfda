import { z } from 'zod';
import { ACTIONS, ACTIONS_WITHOUT_OPTIONS, OPERATOR_ACTIONS, actionLine, planOperation, planSelection, takesOptions, valueAt, type OperatorAction } from '../../lifecycle/actions.ts';
import { LAST_ADMIN_REFUSAL, guardsLastAdmin, removesLastAdmin, takesAwayAdmin } from '../../lifecycle/last-admin.ts';
import { decidePendingData } from '../../lifecycle/pending-data.ts';
import type { Policy, ResetOptions } from '../../lifecycle/policy.ts';
import { describeReset, planReset } from '../../lifecycle/reset-plan.ts';
import { USER_STATUSES, type UserStatus } from '../../lifecycle/statuses.ts';
import { TASK_STATES, type TaskState } from '../../lifecycle/tasks.ts';
import { transition, type LifecycleEvent, type LifecycleUser } from '../../lifecycle/transition.ts';
import { insertAuditEntry } from '../../store/audit.ts';
import { findDevicesOfUsers, type DeviceRecord } from '../../store/devices.ts';
import { countOperationTargetsByLifecycle, findOperationTargetIds, insertOperationTargets } from '../../store/operation-targets.ts';
import { findOperationProgress, findOperations, insertOperation } from '../../store/operations.ts';
import type { EntityManager, Orm } from '../../store/orm.ts';
import { findPhoneNumbers } from '../../store/phone-numbers.ts';
import { findDatabaseNow } from '../../store/sql.ts';
import { findTenantSettings } from '../../store/tenant-settings.ts';
import { countUserDataByKind } from '../../store/user-data.ts';
import { countOtherAdmins, findUsersByIds, type UserFilter, type UserRecord } from '../../store/users.ts';
import { describeActors } from '../../store/names.ts';
import { namedFields } from './names.ts';
import { RequestError } from '../errors.ts';
import type { Operator } from './auth.ts';
import { confirmKey, confirmTokenHash, signConfirmToken, verifyConfirmToken, type ConfirmedRequest } from './confirm-token.ts';
import { idempotent } from './idempotency.ts';
import { decodeCursor, encodeCursor, idParams, limitQuery, type DefineRoute } from './route.ts';
import { userFilterOf, userFilterSchema } from './users.ts';

/**
 * Operations (DESIGN.md §4): one action on one or many users, run as one Task per user. `dryRun`
 * shows per user what would happen (the pure transition and reset plan, nothing written) and a
 * `confirmToken` for exactly that request; irreversible actions refuse to run without it. What each
 * action takes, runs and is called comes from the actions table (src/lifecycle/actions.ts).
 */

/** One operation may name this many users (one insert of task rows; see bench/jobs.ts for 10,000). */
const MAX_USERS = 10_000;
/** A selection may match this many users (resolved and enqueued set-based; bench/jobs.ts runs 100,000). */
const MAX_SELECTION = 250_000;
/** A selection's dry run shows this many of its users (in the list's order), and counts them all. */
const SAMPLE_SIZE = 50;

const selectionSchema = userFilterSchema.strict().openapi('UserSelection', {
  description:
    "The users GET /admin/users lists with the same filters (none: every user but deleted ones). The dry run resolves them and keeps that set: the confirmed run acts on exactly those users, not on whoever matches by then.",
});

const common = {
  userIds: z.array(z.uuid()).min(1).max(MAX_USERS).optional().openapi({ description: 'The users, by id. Give either userIds or selection.' }),
  selection: selectionSchema.optional(),
  dryRun: z.boolean().optional(),
  confirm: z.string().max(200).optional(),
};

/** The request of each action: the actions without options share one shape, each other action has its own. */
const requests = [
  z.object({ action: z.enum(ACTIONS_WITHOUT_OPTIONS.actions), ...ACTIONS_WITHOUT_OPTIONS.request.shape, ...common }).strict(),
  ...OPERATOR_ACTIONS.filter(takesOptions).map((action) => z.object({ action: z.literal(action), ...ACTIONS[action].request.shape, ...common }).strict()),
];

export const operationRequest = z
  .discriminatedUnion('action', [requests[0]!, ...requests.slice(1)])
  .superRefine((request, ctx) => {
    if ((request.userIds === undefined) === (request.selection === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['userIds'], message: 'give the users either by userIds or by selection (exactly one of the two)' });
      return;
    }
    // Values given per user (a recycle's new people, a reset's hand-over) name exactly the selected users.
    const perUser = ACTIONS[request.action].perUser;
    const named = perUser ? objectAt(request, perUser.path) : undefined;
    if (!perUser || !named) return;
    const path = [...perUser.path];
    if (!request.userIds) {
      ctx.addIssue({ code: 'custom', path, message: `${perUser.what} gives values for each user: select the users by userIds, not by selection` });
      return;
    }
    const names = new Set(Object.keys(named).map((id) => id.toLowerCase()));
    const missing = request.userIds.filter((id) => !names.has(id.toLowerCase()));
    if (missing.length) ctx.addIssue({ code: 'custom', path, message: `${perUser.what} needs a new name for every user; missing: ${missing.join(', ')}` });
    const selected = new Set(request.userIds.map((id) => id.toLowerCase()));
    const extra = [...names].filter((id) => !selected.has(id));
    if (extra.length) ctx.addIssue({ code: 'custom', path, message: `names given for users not selected: ${extra.join(', ')}` });
  })
  .openapi('OperationRequest');

/** The object at `path` in a validated request, if there is one. */
function objectAt(value: unknown, path: readonly string[]): object | undefined {
  const at = valueAt(value, path);
  return typeof at === 'object' && at !== null ? at : undefined;
}

const previewUser = z
  .object({
    userId: z.uuid(),
    userName: z.string().nullable(),
    displayName: z.string().nullable(),
    extension: z.string().nullable(),
    status: z.string(),
    allowed: z.boolean(),
    newStatus: z.string().nullable(),
    refusal: z.object({ code: z.string(), message: z.string() }).nullable(),
    effects: z.array(z.string()),
    willDelete: z.record(z.string(), z.number()).optional(),
    phoneNumber: z.string().nullable().optional(),
    devicesRemoved: z.number().optional(),
    pendingData: z.object({ decision: z.string(), pendingItems: z.number() }).optional(),
    newPerson: z.object({ firstName: z.string(), lastName: z.string(), email: z.string().nullable() }).optional(),
  })
  .openapi('OperationPreviewUser');

const dryRunResponse = z
  .object({
    dryRun: z.literal(true),
    action: z.enum(OPERATOR_ACTIONS),
    irreversible: z.boolean(),
    total: z.number(),
    allowed: z.number(),
    refused: z.number(),
    byStatus: z.partialRecord(z.enum(USER_STATUSES), z.number()).openapi({ description: 'The users by their status now.' }),
    refusedBy: z.record(z.string(), z.number()).openapi({ description: 'The refused users by refusal code.' }),
    /** "The following actions will take place". */
    actions: z.array(z.string()),
    users: z.array(previewUser).openapi({
      description: `Per user what will happen: every user of userIds; of a selection, the first ${SAMPLE_SIZE} in the user list's order (the counts above cover them all).`,
    }),
    selection: selectionSchema.optional().openapi({ description: 'The selection as asked; the users it matched now are the ones a run with this confirmToken acts on.' }),
    confirmToken: z.string(),
    confirmExpiresAt: z.iso.datetime(),
  })
  .openapi('OperationPreview');

const acceptedResponse = z
  .object({ operationId: z.uuid(), action: z.enum(OPERATOR_ACTIONS), state: z.literal('running'), total: z.number() })
  .openapi('OperationAccepted');

const progressResponse = z
  .object({
    id: z.uuid(),
    action: z.string(),
    state: z.enum(['running', 'completed']),
    actor: z.string(),
    actorName: namedFields.actorName,
    createdAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
    counts: z.object({
      total: z.number(),
      succeeded: z.number(),
      failed: z.number(),
      /** Waiting on a device, on a decision (needs_decision) or on approval (held). */
      waiting: z.number(),
      running: z.number(),
      /** Not picked up by a worker yet (pending, enqueued). */
      queued: z.number(),
      cancelled: z.number(),
    }),
    byState: z.record(z.enum(TASK_STATES), z.number()),
    tasks: z.array(
      z.object({
        taskId: z.uuid(),
        userId: z.uuid().nullable(),
        userName: z.string().nullable(),
        displayName: z.string().nullable(),
        extension: z.string().nullable(),
        type: z.string(),
        state: z.enum(TASK_STATES),
        reason: z.string().nullable(),
        lastError: z.string().nullable(),
        attempts: z.number(),
        updatedAt: z.iso.datetime(),
      }),
    ),
  })
  .openapi('OperationProgress');

const actionList = z
  .object({
    actions: z.array(
      z
        .object({
          action: z.enum(OPERATOR_ACTIONS),
          label: z.string(),
          description: z.string(),
          irreversible: z.boolean().openapi({ description: "Cannot be undone: the operation runs only with its dry run's confirmToken." }),
          takesOptions: z.boolean().openapi({ description: 'The request carries options of its own (see OperationRequest); else `options` is `{}` or left out.' }),
        })
        .openapi('Action'),
    ),
  })
  .openapi('ActionList');

/** The actions as GET /actions lists them: the same for every request. */
const ACTION_LIST = {
  actions: OPERATOR_ACTIONS.map((action) => ({
    action,
    label: ACTIONS[action].label,
    description: ACTIONS[action].description,
    irreversible: ACTIONS[action].irreversible,
    takesOptions: takesOptions(action),
  })),
};

export function operationRoutes(define: DefineRoute, { orm }: { orm: Orm }): void {
  define({
    method: 'get',
    path: '/actions',
    tag: 'Operations',
    summary: 'The operator actions, with their labels',
    description:
      "Every action of POST /operations, in the order the console offers them, with the console's words for it (label, description). A user's `allowedActions` says which of them that user is offered.",
    responses: { 200: { description: 'The actions.', schema: actionList } },
    handler: async () => ({ status: 200, body: ACTION_LIST }),
  });

  define(idempotent(orm, {
    method: 'post',
    path: '/operations',
    tag: 'Operations',
    summary: 'Run an action on one or many users (or preview it)',
    description:
      `The users are \`userIds\` (up to ${MAX_USERS}) or a \`selection\`, the user list's filters (GET /users; up to ${MAX_SELECTION} users), exactly one of the two. A selection's dry run resolves it now and keeps those users under its \`confirmToken\`: it counts them all (\`total\`, \`allowed\`, \`refused\`, \`byStatus\`, \`refusedBy\`) and lists the first ${SAMPLE_SIZE}; the run, which needs that token whatever the action, acts on exactly those users, not on whoever matches by then; an action with values per user (recycle, a reset's handOver) needs userIds. With \`userIds\` and \`dryRun: true\` nothing is written: the answer lists per user what will happen and a \`confirmToken\` (valid 15 minutes) for exactly this request. Irreversible actions (${OPERATOR_ACTIONS.filter((a) => ACTIONS[a].irreversible).join(', ')}) are refused with 409 \`confirmation_required\` unless \`confirm\` is that token. A token starts one operation: sent again (a double click, a retry), it is refused with 409 \`confirmation_used\`, naming the operation it started. Otherwise 202: one task per user, progress at GET /admin/operations/{id}.`,
    body: operationRequest,
    responses: {
      200: { description: 'The dry run.', schema: dryRunResponse },
      202: { description: 'Accepted; the tasks run in the background.', schema: acceptedResponse },
      409: {
        description:
          "confirmation_required: an irreversible action without the dry run's token (or with one for another request, or expired); confirmation_used: the token started an operation already (its `operationId` is in the answer). last_admin: the request (dry run included) would take away every admin of the tenant who can sign in (disable, ban, delete, permanent_delete, reset, deprovision); nothing runs, `userIds` names those admins: keep one of them, or make another user admin first.",
      },
      422: { description: 'Invalid request, or unknown_users: ids that are not users of this tenant.' },
    },
    handler: async ({ body, operator, res }) => {
      if (body.selection) return await runOnSelection(orm, operator, { ...body, selection: body.selection }, (id) => res.location(`/admin/operations/${id}`));
      const userIds = [...new Set(body.userIds!.map((id) => id.toLowerCase()))];
      const confirmed: ConfirmedRequest = { tenantId: operator.tenantId, action: body.action, userIds, options: objectAt(body, ['options']) ?? {} };
      const em = orm.em.fork();
      const tenant = await findTenantSettings(em, operator.tenantId);
      if (!tenant) throw new RequestError('unauthorized', 401, 'the token belongs to no tenant');
      const key = confirmKey(tenant);
      const users = await findUsersByIds(em, operator.tenantId, userIds);
      if (users.length !== userIds.length) {
        const known = new Set(users.map((u) => u.id));
        const unknown = userIds.filter((id) => !known.has(id));
        throw new RequestError('unknown_users', 422, 'Some of the selected users do not exist (in this tenant).', { userIds: unknown });
      }
      const planned = planOperation(body.action, body, userIds);
      const events = new Map(planned.tasks.map((task) => [task.userId, task.event]));
      await refuseLastAdmin(em, operator.tenantId, events, users, tenant.policy);

      if (body.dryRun) {
        const preview = await previewOperation(em, operator, body.action, planned.resetOptions, events, users, tenant.policy);
        const { token, expiresAt } = signConfirmToken(key, confirmed);
        return { status: 200, body: { ...preview, confirmToken: token, confirmExpiresAt: expiresAt.toISOString() } };
      }

      const irreversible = ACTIONS[body.action].irreversible;
      if (irreversible || body.confirm !== undefined) {
        requireConfirmation(key, body.confirm, confirmed, `${body.action} cannot be undone`);
      }

      const operation = await orm.em.fork().transactional(async (tx) => {
        const created = await insertOperation(tx, {
          tenantId: operator.tenantId,
          action: body.action,
          options: planned.recorded,
          actor: operator.actor,
          taskType: planned.taskType,
          tasks: planned.tasks,
          ...(body.confirm !== undefined ? { confirmTokenHash: confirmTokenHash(body.confirm) } : {}),
        });
        return await started(tx, operator, created, { action: body.action, options: planned.recorded, confirmed: irreversible });
      });
      res.location(`/admin/operations/${operation.id}`);
      return { status: 202, body: { operationId: operation.id, action: body.action, state: 'running', total: operation.total } };
    },
  }));

  define({
    method: 'get',
    path: '/operations',
    tag: 'Operations',
    summary: 'Recent operations, newest first, with their counts',
    query: z.object({ cursor: z.string().max(500).optional(), limit: limitQuery }),
    responses: {
      200: {
        description: 'A page of operations.',
        schema: z
          .object({
            operations: z.array(progressResponse.pick({ id: true, action: true, state: true, actor: true, actorName: true, createdAt: true, finishedAt: true, counts: true })),
            nextCursor: z.string().nullable(),
          })
          .openapi('OperationPage'),
      },
    },
    handler: async ({ query, operator }) => {
      const before = decodeCursor(query.cursor, z.object({ createdAt: z.iso.datetime(), id: z.uuid() }));
      const em = orm.em.fork();
      const { operations, hasMore } = await findOperations(em, { tenantId: operator.tenantId, ...(before ? { before } : {}), limit: query.limit });
      const actors = await describeActors(em, operator.tenantId, operations.map((o) => o.actor));
      const last = operations.at(-1);
      return {
        status: 200,
        body: {
          operations: operations.map((o) => {
            const counts = countsOf(o.byState);
            return {
              id: o.id,
              action: o.action,
              state: counts.total > counts.succeeded + counts.failed + counts.cancelled ? 'running' : 'completed',
              actor: o.actor,
              actorName: actors[o.actor] ?? o.actor,
              createdAt: new Date(o.createdAt).toISOString(),
              finishedAt: o.finishedAt ? new Date(o.finishedAt).toISOString() : null,
              counts,
            };
          }),
          nextCursor: hasMore && last ? encodeCursor({ createdAt: new Date(last.createdAt).toISOString(), id: last.id }) : null,
        },
      };
    },
  });

  define({
    method: 'get',
    path: '/operations/:id',
    tag: 'Operations',
    summary: 'Progress of an operation',
    description: 'Counts and per-user task states, read live from the task rows.',
    params: idParams,
    responses: { 200: { description: 'The progress view.', schema: progressResponse }, 404: { description: 'No such operation in this tenant.' } },
    handler: async ({ params, operator }) => {
      const em = orm.em.fork();
      const progress = await findOperationProgress(em, operator.tenantId, params.id);
      if (!progress) throw new RequestError('operation_not_found', 404, 'No such operation.');
      const actors = await describeActors(em, operator.tenantId, [progress.actor]);
      return {
        status: 200,
        body: {
          id: progress.id,
          action: progress.action,
          state: progress.state,
          actor: progress.actor,
          actorName: actors[progress.actor] ?? progress.actor,
          createdAt: new Date(progress.createdAt).toISOString(),
          finishedAt: progress.finishedAt ? new Date(progress.finishedAt).toISOString() : null,
          counts: countsOf(progress.byState),
          byState: progress.byState,
          tasks: progress.tasks.map((t) => ({ ...t, attempts: Number(t.attempts), updatedAt: new Date(t.updatedAt).toISOString() })),
        },
      };
    },
  });
}

/**
 * Refuses (409 confirmation_required) a run whose `confirm` is not a live token of a dry run of
 * exactly this request; `why` says why this run needs one.
 */
function requireConfirmation(key: Buffer, confirm: string | undefined, confirmed: ConfirmedRequest, why: string): void {
  const check = verifyConfirmToken(key, confirm, confirmed);
  if (check.ok) return;
  throw new RequestError(
    'confirmation_required',
    409,
    check.reason === 'missing'
      ? `${why}: ask with dryRun: true first, then send the same request with confirm set to its confirmToken.`
      : check.reason === 'expired'
        ? 'The confirmation has expired; preview the operation again.'
        : 'The confirmation does not match this request (other users, selection, action or options); preview this request and confirm that.',
    { reason: check.reason, action: confirmed.action },
  );
}

/** After the operation row and its tasks: refuses a used token, else audits the start (one entry for the operation). */
async function started(
  tx: EntityManager,
  operator: Operator,
  created: Awaited<ReturnType<typeof insertOperation>>,
  details: { action: OperatorAction; options: Record<string, unknown>; confirmed: boolean; selection?: Record<string, unknown> },
): Promise<{ id: string; total: number }> {
  if (!created.ok) {
    const operationId = created.confirmationUsedBy;
    throw new RequestError('confirmation_used', 409, `This confirmation was used already: it started operation ${operationId}. Preview again to run it once more.`, { operationId });
  }
  insertAuditEntry(tx, {
    tenantId: operator.tenantId,
    actor: operator.actor,
    action: 'operation.started',
    details: { operationId: created.id, total: created.total, ...details },
  });
  await tx.flush();
  return created;
}

type SelectionRequest = z.output<typeof operationRequest> & { selection: z.output<typeof selectionSchema> };

/**
 * An operation on a selection. The dry run resolves the selection (one INSERT ... SELECT) and keeps
 * those users under its confirm token's hash (src/store/operation-targets.ts); it answers counts
 * over all of them and a sample of who. The run must carry that token, whatever the action: it
 * inserts one task per kept user (INSERT ... SELECT again) and its operation row takes the token's
 * hash, so a token runs once, and a user who matches only after the preview is not swept in.
 */
async function runOnSelection(orm: Orm, operator: Operator, body: SelectionRequest, located: (operationId: string) => void) {
  const filter = userFilterOf(body.selection);
  const confirmed: ConfirmedRequest = { tenantId: operator.tenantId, action: body.action, userIds: [], options: objectAt(body, ['options']) ?? {}, selection: filter };
  const planned = planSelection(body.action, body);
  // The request schema refuses per-user values with a selection already; this keeps the plan honest.
  if (!planned) throw new RequestError('validation_failed', 422, 'this request gives values for each user: select the users by userIds');
  const tenant = await findTenantSettings(orm.em.fork(), operator.tenantId);
  if (!tenant) throw new RequestError('unauthorized', 401, 'the token belongs to no tenant');
  const key = confirmKey(tenant);

  if (body.dryRun) {
    return await orm.em.fork().transactional(async (tx) => {
      const { token, expiresAt } = signConfirmToken(key, confirmed);
      const kept = confirmTokenHash(token);
      const total = await insertOperationTargets(tx, { tenantId: operator.tenantId, confirmTokenHash: kept, expiresAt, filter, max: MAX_SELECTION });
      if (total === null) {
        throw new RequestError('selection_too_large', 422, `The selection matches more than ${MAX_SELECTION} users; narrow it (status, search, inactive since, group).`, { max: MAX_SELECTION });
      }
      await refuseLastAdminOfKept(tx, operator.tenantId, kept, planned.event, tenant.policy);
      const sampleIds = await findOperationTargetIds(tx, operator.tenantId, kept, { limit: SAMPLE_SIZE });
      const order = new Map(sampleIds.map((id, i) => [id, i]));
      const sample = (await findUsersByIds(tx, operator.tenantId, sampleIds)).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
      const events = new Map(sample.map((user) => [user.id, planned.event]));
      const preview = await previewOperation(tx, operator, body.action, planned.resetOptions, events, sample, tenant.policy);
      const groups = await countOperationTargetsByLifecycle(tx, operator.tenantId, kept);
      const counts = tally(
        groups.map((group) => {
          const result = transition(lifecycleUser({ ...group, id: '' }), planned.event, tenant.policy);
          return { status: group.status, refusal: result.ok ? null : result.refusal.code, count: group.count };
        }),
      );
      return {
        status: 200,
        body: { ...preview, ...counts, selection: body.selection, confirmToken: token, confirmExpiresAt: expiresAt.toISOString() },
      };
    });
  }

  requireConfirmation(key, body.confirm, confirmed, 'A selection runs on the users its dry run resolved');
  const irreversible = ACTIONS[body.action].irreversible;
  const kept = confirmTokenHash(body.confirm!);
  const operation = await orm.em.fork().transactional(async (tx) => {
    await refuseLastAdminOfKept(tx, operator.tenantId, kept, planned.event, tenant.policy);
    const created = await insertOperation(tx, {
      tenantId: operator.tenantId,
      action: body.action,
      options: { ...planned.recorded, selection: recordedSelection(filter) },
      actor: operator.actor,
      taskType: planned.taskType,
      tasks: { keptTargets: true, payload: planned.payload },
      confirmTokenHash: kept,
    });
    return await started(tx, operator, created, { action: body.action, options: planned.recorded, confirmed: irreversible, selection: recordedSelection(filter) });
  });
  located(operation.id);
  return { status: 202, body: { operationId: operation.id, action: body.action, state: 'running', total: operation.total } };
}

/** The selection as the operation row and the audit trail keep it: the searched text may be a name, so only that there was one. */
function recordedSelection(filter: UserFilter): Record<string, unknown> {
  const { q, ...rest } = filter;
  return { ...rest, ...(q ? { searched: true } : {}) };
}

/** The last-admin rule over the users a selection's dry run kept: only its admins are read. */
async function refuseLastAdminOfKept(tx: EntityManager, tenantId: string, kept: string, event: LifecycleEvent, policy: Policy): Promise<void> {
  const admins = await findUsersByIds(tx, tenantId, await findOperationTargetIds(tx, tenantId, kept, { role: 'admin' }));
  await refuseLastAdmin(tx, tenantId, new Map(admins.map((user) => [user.id, event])), admins, policy);
}

/** The dry run's counts from users grouped by status and outcome (refusal code, or null when allowed). */
function tally(rows: Array<{ status: UserStatus; refusal: string | null; count: number }>) {
  const byStatus: Partial<Record<UserStatus, number>> = {};
  const refusedBy: Record<string, number> = {};
  let total = 0;
  let refused = 0;
  for (const row of rows) {
    total += row.count;
    byStatus[row.status] = (byStatus[row.status] ?? 0) + row.count;
    if (row.refusal) {
      refused += row.count;
      refusedBy[row.refusal] = (refusedBy[row.refusal] ?? 0) + row.count;
    }
  }
  return { total, allowed: total - refused, refused, byStatus, refusedBy };
}

/** The progress counts of DESIGN.md §4 from tasks by state. */
function countsOf(byState: Partial<Record<TaskState, number>>) {
  const n = (...states: TaskState[]) => states.reduce((sum, s) => sum + Number(byState[s] ?? 0), 0);
  return {
    total: n(...TASK_STATES),
    succeeded: n('succeeded'),
    failed: n('failed'),
    waiting: n('waiting_for_device', 'needs_decision', 'held'),
    running: n('running'),
    queued: n('pending', 'enqueued'),
    cancelled: n('cancelled'),
  };
}

type OperationUser = UserRecord & { derivedLogin: boolean };

/** What the lifecycle rules read of a user (a selection's dry run counts groups of users alike in these). */
function lifecycleUser(user: Pick<OperationUser, 'id' | 'status' | 'disabledBy' | 'failedLoginCount' | 'hasPassword' | 'derivedLogin'>): LifecycleUser {
  return {
    status: user.status,
    disabledBy: user.disabledBy,
    failedLoginCount: user.failedLoginCount,
    hasPassword: user.hasPassword,
    ...(user.derivedLogin ? { derivedLogin: { userId: user.id } } : {}),
  };
}

/**
 * The whole request is refused (dry run too) when it would take away every admin of the tenant
 * who can sign in (src/lifecycle/last-admin.ts), naming them: one refusal the operator acts on by
 * deselecting one, rather than a bulk run that stops part-way. The tasks check again when they
 * apply, under the tenant's lock, for requests that raced past this check.
 */
async function refuseLastAdmin(em: EntityManager, tenantId: string, events: Map<string, LifecycleEvent>, users: OperationUser[], policy: Policy): Promise<void> {
  const takenAway = users
    .filter((user) => {
      const event = events.get(user.id)!;
      const result = guardsLastAdmin(event) ? transition(lifecycleUser(user), event, policy) : null;
      return result?.ok === true && takesAwayAdmin(user, { role: user.role, status: result.status });
    })
    .map((user) => user.id);
  if (takenAway.length && removesLastAdmin(takenAway.length, await countOtherAdmins(em, tenantId, takenAway))) {
    throw new RequestError(LAST_ADMIN_REFUSAL.code, 409, LAST_ADMIN_REFUSAL.message, { userIds: takenAway });
  }
}

/**
 * Per user: the transition's answer (allowed or the refusal, the new status, the effects), and
 * for a reset what each chosen option deletes for that user (counts by kind, the number going
 * back to inventory, the devices removed, and where the app data stands).
 */
async function previewOperation(
  em: EntityManager,
  operator: Operator,
  action: OperatorAction,
  resetOptions: Partial<ResetOptions> | undefined,
  events: Map<string, LifecycleEvent>,
  users: OperationUser[],
  policy: Policy,
) {
  const plan = resetOptions ? planReset(resetOptions, policy.defaultResetOptions) : null;

  let dataCounts = new Map<string, Record<string, number>>();
  let numbers = new Map<string, string>();
  let devices = new Map<string, DeviceRecord[]>();
  // Read only when the action runs a reset: the database's clock, which device check-ins carry.
  let now = new Date();
  if (plan) {
    const ids = users.map((u) => u.id);
    now = await findDatabaseNow(em);
    dataCounts = await countUserDataByKind(em, operator.tenantId, ids);
    numbers = new Map((await findPhoneNumbers(em, operator.tenantId, { userIds: ids })).map((n) => [n.userId!, n.number]));
    for (const device of await findDevicesOfUsers(em, operator.tenantId, ids)) devices.set(device.userId, [...(devices.get(device.userId) ?? []), device]);
  }

  const previews = users.map((user) => {
    const event = events.get(user.id)!;
    const result = transition(lifecycleUser(user), event, policy);
    const base = {
      userId: user.id,
      userName: user.userName,
      displayName: user.displayName,
      extension: user.extension,
      status: user.status,
      allowed: result.ok,
      newStatus: result.ok ? result.status : null,
      refusal: result.ok ? null : result.refusal,
      effects: result.ok ? result.effects.map((e) => e.type) : [],
    };
    if (event.type === 'recycle' && result.ok) {
      Object.assign(base, { newPerson: { firstName: event.firstName, lastName: event.lastName, email: event.email ?? null } });
    }
    if (!plan || !result.ok) return base;
    const counts = dataCounts.get(user.id) ?? {};
    const userDevices = devices.get(user.id) ?? [];
    const appData = decidePendingData(userDevices, now);
    return {
      ...base,
      willDelete: Object.fromEntries(plan.clearUserDataKinds.map((kind) => [kind, counts[kind] ?? 0])),
      phoneNumber: plan.unassignPhoneNumber ? (numbers.get(user.id) ?? null) : null,
      // Soft phones always go; every device line only with removeDeviceLines.
      devicesRemoved: userDevices.filter((d) => plan.removeDeviceLines || d.kind === 'soft_phone').length,
      pendingData: { decision: appData.decision, pendingItems: appData.pendingItems },
    };
  });

  return {
    dryRun: true as const,
    action,
    irreversible: ACTIONS[action].irreversible,
    ...tally(previews.map((p) => ({ status: p.status, refusal: p.refusal?.code ?? null, count: 1 }))),
    actions: plan ? describeReset(plan) : [actionLine(action)],
    users: previews,
  };
}
