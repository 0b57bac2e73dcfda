import { z } from 'zod';
import type { TaskPayloads } from '../../../jobs/registry.ts';
import { LAST_ADMIN_REFUSAL, guardsLastAdmin, removesLastAdmin, takesAwayAdmin } from '../../lifecycle/last-admin.ts';
import { decidePendingData } from '../../lifecycle/pending-data.ts';
import { RESET_OPTION_KEYS, type Policy, type ResetOptionKey } from '../../lifecycle/policy.ts';
import { describeReset, planReset } from '../../lifecycle/reset-plan.ts';
import { TASK_STATES, type TaskState, type TaskType } from '../../lifecycle/tasks.ts';
import { transition, type LifecycleEvent, type LifecycleUser } from '../../lifecycle/transition.ts';
import { insertAuditEntry } from '../../store/audit.ts';
import { findDevicesOfUsers, type DeviceRecord } from '../../store/devices.ts';
import { findOperationProgress, findOperations, insertOperation } from '../../store/operations.ts';
import type { EntityManager, Orm } from '../../store/orm.ts';
import { findPhoneNumbers } from '../../store/phone-numbers.ts';
import { findDatabaseNow } from '../../store/sql.ts';
import { findTenantSettings } from '../../store/tenant-settings.ts';
import { countUserDataByKind } from '../../store/user-data.ts';
import { countOtherAdmins, findUsersByIds, type UserRecord } from '../../store/users.ts';
import { RequestError } from '../errors.ts';
import type { Operator } from './auth.ts';
import { confirmKey, confirmTokenHash, signConfirmToken, verifyConfirmToken, type ConfirmedRequest } from './confirm-token.ts';
import { idempotent } from './idempotency.ts';
import { decodeCursor, encodeCursor, idParams, limitQuery, type DefineRoute } from './route.ts';

/**
 * Operations (DESIGN.md §4): one action on one or many users, run as one Task per user. `dryRun`
 * shows per user what would happen (the pure transition and reset plan, nothing written) and a
 * `confirmToken` for exactly that request; irreversible actions refuse to run without it.
 *
 * The actions of DESIGN.md §4 and the task type each runs as (`permanent_delete` is the `purge` job).
 */
export const ACTION_TASK_TYPES = {
  ban: 'ban',
  unban: 'unban',
  disable: 'disable',
  activate: 'activate',
  unlock: 'unlock',
  delete: 'delete',
  permanent_delete: 'purge',
  reset: 'reset',
  recycle: 'recycle',
  welcome_email: 'welcome_email',
  force_password_reset: 'force_password_reset',
  deprovision: 'deprovision',
} as const satisfies Record<string, TaskType>;
export type OperatorAction = keyof typeof ACTION_TASK_TYPES;
export const OPERATOR_ACTIONS = Object.keys(ACTION_TASK_TYPES) as [OperatorAction, ...OperatorAction[]];

/** What cannot be undone; these need the dry run's confirmToken. */
export const IRREVERSIBLE_ACTIONS: readonly OperatorAction[] = Object.freeze(['reset', 'recycle', 'permanent_delete', 'deprovision']);

/** One operation may select this many users (one insert of task rows; see bench/jobs.ts for 10,000). */
const MAX_USERS = 10_000;

const resetOptions = z
  .object(Object.fromEntries(RESET_OPTION_KEYS.map((k) => [k, z.boolean().optional()])) as Record<ResetOptionKey, z.ZodOptional<z.ZodBoolean>>)
  .strict()
  .openapi('ResetOptions', { description: 'Optional items a reset clears; a missing one takes the tenant default (defaultResetOptions).' });

const recycleUser = z
  .object({
    firstName: z.string().trim().min(1).max(200),
    lastName: z.string().trim().min(1).max(200),
    email: z.email().max(320).optional(),
    sendWelcome: z.boolean().optional(),
  })
  .strict()
  .openapi({
    description:
      "The seat's new person. A login derived from the email follows them: it becomes this email, or when there is none or it is another user's login, `first.last` (then `first.last.2` to `.9`), else stays the reset placeholder `seat-<id>`. A login an operator or the identity provider chose stays as it is.",
  });

const common = {
  userIds: z.array(z.uuid()).min(1).max(MAX_USERS),
  dryRun: z.boolean().optional(),
  confirm: z.string().max(200).optional(),
};
const SIMPLE_ACTIONS = ['ban', 'unban', 'disable', 'activate', 'unlock', 'delete', 'permanent_delete', 'welcome_email'] as const;

export const operationRequest = z
  .discriminatedUnion('action', [
    z.object({ action: z.enum(SIMPLE_ACTIONS), options: z.object({}).strict().optional(), ...common }).strict(),
    z
      .object({
        action: z.literal('reset'),
        options: resetOptions.optional(),
        handOver: z
          .object({ users: z.record(z.uuid(), recycleUser.omit({ sendWelcome: true })) })
          .strict()
          .optional()
          .openapi({ description: 'Hand each reset seat to a new person in the same task (what a recycle does, without a welcome e-mail): "Reset App Access".' }),
        ...common,
      })
      .strict(),
    z
      .object({
        action: z.literal('recycle'),
        options: z.object({ users: z.record(z.uuid(), recycleUser) }).strict(),
        ...common,
      })
      .strict(),
    z
      .object({
        action: z.literal('force_password_reset'),
        options: z.object({ sendRecoveryEmail: z.boolean().optional() }).strict().optional(),
        ...common,
      })
      .strict(),
    z
      .object({
        action: z.literal('deprovision'),
        options: z.object({ chainReset: z.boolean().optional(), resetOptions: resetOptions.optional() }).strict().optional(),
        ...common,
      })
      .strict(),
  ])
  .superRefine((request, ctx) => {
    const names = request.action === 'recycle' ? request.options.users : request.action === 'reset' ? request.handOver?.users : undefined;
    if (!names) return;
    const path = request.action === 'recycle' ? ['options', 'users'] : ['handOver', 'users'];
    const named = new Set(Object.keys(names).map((id) => id.toLowerCase()));
    const missing = request.userIds.filter((id) => !named.has(id.toLowerCase()));
    if (missing.length) ctx.addIssue({ code: 'custom', path, message: `${request.action === 'recycle' ? 'recycle' : 'a hand-over'} needs a new name for every user; missing: ${missing.join(', ')}` });
    const selected = new Set(request.userIds.map((id) => id.toLowerCase()));
    const extra = [...named].filter((id) => !selected.has(id));
    if (extra.length) ctx.addIssue({ code: 'custom', path, message: `names given for users not selected: ${extra.join(', ')}` });
  })
  .openapi('OperationRequest');
type OperationRequest = z.infer<typeof operationRequest>;

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
    /** "The following actions will take place". */
    actions: z.array(z.string()),
    users: z.array(previewUser),
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

export function operationRoutes(define: DefineRoute, { orm }: { orm: Orm }): void {
  define(idempotent(orm, {
    method: 'post',
    path: '/operations',
    tag: 'Operations',
    summary: 'Run an action on one or many users (or preview it)',
    description:
      'With `dryRun: true` nothing is written: the answer lists per user what will happen and a `confirmToken` (valid 15 minutes) for exactly this request. Irreversible actions (reset, recycle, permanent_delete, deprovision) are refused with 409 `confirmation_required` unless `confirm` is that token. A token starts one operation: sent again (a double click, a retry), it is refused with 409 `confirmation_used`, naming the operation it started. Otherwise 202: one task per user, progress at GET /admin/operations/{id}.',
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
      const userIds = [...new Set(body.userIds.map((id) => id.toLowerCase()))];
      const confirmed: ConfirmedRequest = { tenantId: operator.tenantId, action: body.action, userIds, options: body.options ?? {} };
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
      await refuseLastAdmin(em, operator.tenantId, body, users, tenant.policy);

      if (body.dryRun) {
        const preview = await previewOperation(em, operator, body, users, tenant.policy);
        const { token, expiresAt } = signConfirmToken(key, confirmed);
        return { status: 200, body: { ...preview, confirmToken: token, confirmExpiresAt: expiresAt.toISOString() } };
      }

      const irreversible = IRREVERSIBLE_ACTIONS.includes(body.action);
      if (irreversible || body.confirm !== undefined) {
        const check = verifyConfirmToken(key, body.confirm, confirmed);
        if (!check.ok) {
          throw new RequestError(
            'confirmation_required',
            409,
            check.reason === 'missing'
              ? `${body.action} cannot be undone: ask with dryRun: true first, then send the same request with confirm set to its confirmToken.`
              : check.reason === 'expired'
                ? 'The confirmation has expired; preview the operation again.'
                : 'The confirmation does not match this request (other users, action or options); preview this request and confirm that.',
            { reason: check.reason, action: body.action },
          );
        }
      }

      const operation = await orm.em.fork().transactional(async (tx) => {
        const created = await insertOperation(tx, {
          tenantId: operator.tenantId,
          action: body.action,
          options: auditableOptions(body),
          actor: operator.actor,
          taskType: ACTION_TASK_TYPES[body.action],
          tasks: userIds.map((userId) => ({ userId, payload: taskPayload(body, userId) as never })),
          ...(body.confirm !== undefined ? { confirmTokenHash: confirmTokenHash(body.confirm) } : {}),
        });
        if (!created.ok) {
          const operationId = created.confirmationUsedBy;
          throw new RequestError('confirmation_used', 409, `This confirmation was used already: it started operation ${operationId}. Preview again to run it once more.`, { operationId });
        }
        insertAuditEntry(tx, {
          tenantId: operator.tenantId,
          actor: operator.actor,
          action: 'operation.started',
          details: { operationId: created.id, action: body.action, total: created.total, options: auditableOptions(body), confirmed: irreversible },
        });
        await tx.flush();
        return created;
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
            operations: z.array(progressResponse.pick({ id: true, action: true, state: true, actor: true, createdAt: true, finishedAt: true, counts: true })),
            nextCursor: z.string().nullable(),
          })
          .openapi('OperationPage'),
      },
    },
    handler: async ({ query, operator }) => {
      const before = decodeCursor(query.cursor, z.object({ createdAt: z.iso.datetime(), id: z.uuid() }));
      const { operations, hasMore } = await findOperations(orm.em.fork(), { tenantId: operator.tenantId, ...(before ? { before } : {}), limit: query.limit });
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
      const progress = await findOperationProgress(orm.em.fork(), operator.tenantId, params.id);
      if (!progress) throw new RequestError('operation_not_found', 404, 'No such operation.');
      return {
        status: 200,
        body: {
          id: progress.id,
          action: progress.action,
          state: progress.state,
          actor: progress.actor,
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

function lifecycleUser(user: OperationUser): LifecycleUser {
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
async function refuseLastAdmin(em: EntityManager, tenantId: string, request: OperationRequest, users: OperationUser[], policy: Policy): Promise<void> {
  const takenAway = users
    .filter((user) => {
      const event = previewEvent(request, user.id);
      const result = guardsLastAdmin(event) ? transition(lifecycleUser(user), event, policy) : null;
      return result?.ok === true && takesAwayAdmin(user, { role: user.role, status: result.status });
    })
    .map((user) => user.id);
  if (takenAway.length && removesLastAdmin(takenAway.length, await countOtherAdmins(em, tenantId, takenAway))) {
    throw new RequestError(LAST_ADMIN_REFUSAL.code, 409, LAST_ADMIN_REFUSAL.message, { userIds: takenAway });
  }
}

/** The lifecycle event a user's task will apply, for the preview. */
function previewEvent(request: OperationRequest, userId: string): LifecycleEvent {
  switch (request.action) {
    case 'ban':
    case 'unban':
    case 'disable':
    case 'activate':
    case 'unlock':
    case 'delete':
    case 'permanent_delete':
      return { type: request.action };
    case 'welcome_email':
      return { type: 'send_welcome' };
    case 'reset':
      return { type: 'reset', options: request.options ?? {} };
    case 'recycle': {
      const person = personFor(request.options.users, userId);
      return { type: 'recycle', firstName: person.firstName, lastName: person.lastName, email: person.email ?? null, sendWelcome: person.sendWelcome === true };
    }
    case 'force_password_reset':
      return { type: 'force_password_reset', sendRecoveryEmail: request.options?.sendRecoveryEmail ?? true };
    case 'deprovision':
      return { type: 'deprovision', source: 'admin' };
  }
}

/** The payload of a user's task (jobs/registry.ts TaskPayloads). */
function taskPayload(request: OperationRequest, userId: string): TaskPayloads[TaskType] {
  switch (request.action) {
    case 'disable':
    case 'activate':
      return { by: 'operator' };
    case 'reset': {
      const to = request.handOver ? personFor(request.handOver.users, userId) : undefined;
      return {
        options: request.options ?? {},
        ...(to ? { handOverTo: { firstName: to.firstName, lastName: to.lastName, ...(to.email ? { email: to.email } : {}) } } : {}),
      };
    }
    case 'recycle': {
      const person = personFor(request.options.users, userId);
      return {
        firstName: person.firstName,
        lastName: person.lastName,
        ...(person.email ? { email: person.email } : {}),
        ...(person.sendWelcome !== undefined ? { sendWelcome: person.sendWelcome } : {}),
      };
    }
    case 'welcome_email':
      return { purpose: 'welcome' };
    case 'force_password_reset':
      return { sendRecoveryEmail: request.options?.sendRecoveryEmail ?? true };
    case 'deprovision':
      return { source: 'operator', ...(request.options?.chainReset ? { chainReset: true, resetOptions: request.options.resetOptions ?? {} } : {}) };
    default:
      return {};
  }
}

/** The new person named for a user (ids compared case-insensitively; the refinement saw to it that there is one). */
function personFor<P>(users: Record<string, P>, userId: string): P {
  return Object.entries(users).find(([id]) => id.toLowerCase() === userId)![1];
}

/** Options for the operation row and the audit trail: recycle's new names are personal data, so only their count. */
function auditableOptions(request: OperationRequest): Record<string, unknown> {
  if (request.action === 'recycle') return { users: Object.keys(request.options.users).length };
  if (request.action === 'reset' && request.handOver) return { ...request.options, handOver: Object.keys(request.handOver.users).length };
  return request.options ?? {};
}

/**
 * Per user: the transition's answer (allowed or the refusal, the new status, the effects), and
 * for a reset what each chosen option deletes for that user (counts by kind, the number going
 * back to inventory, the devices removed, and where the app data stands).
 */
async function previewOperation(em: EntityManager, operator: Operator, request: OperationRequest, users: OperationUser[], policy: Policy) {
  const resetOptions = request.action === 'reset' ? (request.options ?? {}) : request.action === 'deprovision' && request.options?.chainReset ? (request.options.resetOptions ?? {}) : null;
  const plan = resetOptions ? planReset(resetOptions, policy.defaultResetOptions) : null;

  let dataCounts = new Map<string, Record<string, number>>();
  let numbers = new Map<string, string>();
  let devices = new Map<string, DeviceRecord[]>();
  const now = await findDatabaseNow(em);
  if (plan) {
    const ids = users.map((u) => u.id);
    dataCounts = await countUserDataByKind(em, operator.tenantId, ids);
    numbers = new Map((await findPhoneNumbers(em, operator.tenantId, { userIds: ids })).map((n) => [n.userId!, n.number]));
    for (const device of await findDevicesOfUsers(em, operator.tenantId, ids)) devices.set(device.userId, [...(devices.get(device.userId) ?? []), device]);
  }

  const previews = users.map((user) => {
    const result = transition(lifecycleUser(user), previewEvent(request, user.id), policy);
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
    if (request.action === 'recycle' && result.ok) {
      const person = personFor(request.options.users, user.id);
      Object.assign(base, { newPerson: { firstName: person.firstName, lastName: person.lastName, email: person.email ?? null } });
    }
    if (!plan || !result.ok) return base;
    const counts = dataCounts.get(user.id) ?? {};
    const userDevices = devices.get(user.id) ?? [];
    const appData = decidePendingData(
      userDevices,
      now,
    );
    return {
      ...base,
      willDelete: Object.fromEntries(plan.clearUserDataKinds.map((kind) => [kind, counts[kind] ?? 0])),
      phoneNumber: plan.unassignPhoneNumber ? (numbers.get(user.id) ?? null) : null,
      // Soft phones always go; every device line only with removeDeviceLines.
      devicesRemoved: userDevices.filter((d) => plan.removeDeviceLines || d.kind === 'soft_phone').length,
      pendingData: { decision: appData.decision, pendingItems: appData.pendingItems },
    };
  });

  const allowed = previews.filter((p) => p.allowed).length;
  return {
    dryRun: true as const,
    action: request.action,
    irreversible: IRREVERSIBLE_ACTIONS.includes(request.action),
    total: previews.length,
    allowed,
    refused: previews.length - allowed,
    actions: plan ? describeReset(plan) : [ACTION_LINES[request.action]],
    users: previews,
  };
}

const ACTION_LINES: Record<OperatorAction, string> = {
  ban: 'Ban: block every access; all history is kept',
  unban: 'Unban: allow access again',
  disable: 'Disable: switch the user off; their apps clear their message history',
  activate: 'Activate: switch the user on again',
  unlock: 'Unlock: let a user locked after too many wrong passwords sign in again',
  delete: 'Delete: hide the user from lists and targeting; the record and history are kept',
  permanent_delete: 'Permanently delete: remove personal data and the user\'s records for good (GDPR); this cannot be undone',
  reset: 'Reset',
  recycle: 'Recycle: give each reset seat to a new person (new name and email); the user must set a password',
  welcome_email: 'Send a welcome email with a link to set a password',
  force_password_reset: 'Force a password reset: clear the password and sign the user out; a recovery email is sent',
  deprovision: 'Deprovision: cut off every access at once (sessions, device tokens, set-password links)',
};

