import { z } from 'zod';
import { OPERATOR_ACTIONS, allowedActions } from '../../lifecycle/actions.ts';
import { isDerivedOnCreate } from '../../lifecycle/login.ts';
import type { Policy } from '../../lifecycle/policy.ts';
import { USER_ROLES, USER_STATUSES } from '../../lifecycle/statuses.ts';
import type { Orm } from '../../store/orm.ts';
import { insertAuditEntry } from '../../store/audit.ts';
import { createUserWithLifecycle } from '../../store/user-lifecycle.ts';
import { countUsers, findUserById, findUsers, updateUserDetails, type UserFilter, type UserRecord } from '../../store/users.ts';
import { RequestError } from '../errors.ts';
import type { Operator } from './auth.ts';
import { idempotent } from './idempotency.ts';
import { decodeCursor, encodeCursor, idParams, limitQuery, type DefineRoute } from './route.ts';

/**
 * Users (DESIGN.md §4): list with status filter, text search and cursor paging; create; read;
 * edit details and role. The CSV import is in users.import.ts, credentials and unlock in
 * users.credentials.ts. Status never changes here: that is an operation or a lifecycle event.
 */
export const userSchema = z
  .object({
    id: z.uuid(),
    userName: z.string().nullable(),
    externalId: z.string().nullable(),
    firstName: z.string().nullable(),
    lastName: z.string().nullable(),
    displayName: z.string().nullable(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    extension: z.string().nullable(),
    department: z.string().nullable(),
    role: z.enum(USER_ROLES),
    status: z.enum(USER_STATUSES),
    disabledBy: z.enum(['idp', 'operator']).nullable(),
    failedLoginCount: z.number().int(),
    hasPassword: z.boolean(),
    lastCheckinAt: z.iso.datetime().nullable(),
    lastSigninAt: z.iso.datetime().nullable(),
    statusChangedAt: z.iso.datetime(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    allowedActions: z.array(z.enum(OPERATOR_ACTIONS)).openapi({
      description:
        'The operations (POST /operations actions) this user is offered now: those the lifecycle rules allow for their status under the tenant policy and that would change something (banning a banned user would not). Whether a request would take away the last admin is answered by the request.',
    }),
  })
  .openapi('User');

/** JSON of a user row (dates as ISO strings), with the actions the tenant's policy offers for it. */
export function userJson(user: UserRecord, policy: Policy): z.infer<typeof userSchema> {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return {
    ...user,
    lastCheckinAt: iso(user.lastCheckinAt),
    lastSigninAt: iso(user.lastSigninAt),
    statusChangedAt: iso(user.statusChangedAt)!,
    createdAt: iso(user.createdAt)!,
    updatedAt: iso(user.updatedAt)!,
    allowedActions: allowedActions(user, policy),
  };
}


const name = z.string().trim().min(1).max(200);
const optionalText = (max: number) => z.string().trim().max(max).nullable().optional();
/** Extensions are dial strings: digits, optionally with * or #. */
export const extensionSchema = z.string().trim().regex(/^[0-9*#]{1,16}$/, 'an extension is 1 to 16 digits (* and # allowed)');
const email = z.email().max(320);

export const createUserBody = z
  .object({
    firstName: name,
    lastName: name,
    email,
    userName: z
      .string()
      .trim()
      .min(1)
      .max(320)
      .optional()
      .openapi({
        description:
          'The login; the user signs in with it or the email. Without one the login is derived from the email, and a derived login follows the seat\'s person: a reset replaces it with a placeholder (`seat-<id>`), a recycle derives it from the new person (their email, else `first.last`). A userName given here is kept through resets and recycles.',
      }),
    role: z.enum(USER_ROLES).optional(),
    extension: extensionSchema.optional(),
    department: z.string().trim().max(200).optional(),
    phone: z.string().trim().max(64).optional(),
    /** Default true: the new user gets a welcome email with a set-password link. */
    sendWelcome: z.boolean().optional(),
  })
  .strict()
  .openapi('NewUser');
export type CreateUserBody = z.infer<typeof createUserBody>;

const patchUserBody = z
  .object({
    userName: z.string().trim().min(1).max(320).optional(),
    firstName: name.nullable().optional(),
    lastName: name.nullable().optional(),
    email: email.nullable().optional(),
    phone: optionalText(64),
    extension: extensionSchema.nullable().optional(),
    department: optionalText(200),
    role: z.enum(USER_ROLES).optional(),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, 'give at least one field to change')
  .openapi('UserPatch');

/** Earliest and latest `inactiveSince` taken: PostgreSQL's timestamptz holds far more, a person's activity does not. */
const ACTIVITY_RANGE = { from: Date.parse('1970-01-01T00:00:00Z'), to: Date.parse('9999-12-31T23:59:59Z') };

/**
 * The user list's filters: the list's query (GET /users, /users/count) and an operation's
 * `selection` (POST /operations) are this one schema, read by the one store filter (userFilterSql).
 */
export const userFilterSchema = z.object({
  status: z.enum(USER_STATUSES).optional().openapi({ description: 'Users in this status. Without it, every status but deleted (deleted means hidden).' }),
  q: z.string().max(200).optional().openapi({ description: 'Matches first, last, display and user name, email and extension (case-insensitive substring).' }),
  inactiveSince: z.iso
    .datetime({ offset: true })
    .refine((v) => Date.parse(v) >= ACTIVITY_RANGE.from && Date.parse(v) <= ACTIVITY_RANGE.to, 'a time between 1970 and 9999')
    .optional()
    .openapi({
      description:
        'Users with no check-in, sign-in or status change since this time (what the inactivity sweep measures): "inactive for 90 days" is now minus 90 days.',
    }),
  group: z.uuid().optional().openapi({ description: 'Members of this group (SCIM Groups id).' }),
});
export type UserFilterInput = z.output<typeof userFilterSchema>;

/** The store's filter for validated filter input (an empty search is no search; times in one form). */
export function userFilterOf(input: UserFilterInput): UserFilter {
  const q = input.q?.trim();
  return {
    ...(input.status ? { status: input.status } : {}),
    ...(q ? { q } : {}),
    ...(input.inactiveSince !== undefined ? { inactiveSince: new Date(input.inactiveSince).toISOString() } : {}),
    ...(input.group !== undefined ? { groupId: input.group.toLowerCase() } : {}),
  };
}

const listQuery = userFilterSchema.extend({
  cursor: z.string().max(500).optional(),
  limit: limitQuery,
});
const cursorSchema = z.object({ createdAt: z.iso.datetime(), id: z.uuid() });

const userPage = z
  .object({ users: z.array(userSchema), nextCursor: z.string().nullable() })
  .openapi('UserPage');

/** Creates one user in the caller's transaction (the API and the CSV import share it). */
export async function createUser(orm: Orm, operator: Operator, body: CreateUserBody, details: Record<string, unknown> = {}): Promise<UserRecord> {
  return await orm.em.fork().transactional(async (em) => {
    const created = await createUserWithLifecycle(em, {
      tenantId: operator.tenantId,
      source: 'admin',
      actor: operator.actor,
      fields: {
        userName: body.userName ?? body.email,
        ...(isDerivedOnCreate(body.userName, body.email) ? { derivedUserName: body.userName ?? body.email } : {}),
        firstName: body.firstName,
        lastName: body.lastName,
        displayName: `${body.firstName} ${body.lastName}`,
        email: body.email,
        emails: [{ value: body.email, type: 'work', primary: true }],
        ...(body.phone ? { phone: body.phone, phoneNumbers: [{ value: body.phone, type: 'work', primary: true }] } : {}),
        ...(body.role ? { role: body.role } : {}),
        ...(body.extension ? { extension: body.extension } : {}),
        ...(body.department ? { department: body.department } : {}),
      },
      ...(body.sendWelcome === undefined ? {} : { sendWelcome: body.sendWelcome }),
      details,
    });
    if (!created.ok) throw new RequestError(created.refusal.code, 409, created.refusal.message);
    return (await findUserById(em, operator.tenantId, created.userId))!;
  });
}

export function userRoutes(define: DefineRoute, { orm }: { orm: Orm }): void {
  define({
    method: 'get',
    path: '/users',
    tag: 'Users',
    summary: 'List users',
    description:
      'Newest last, 50 a page by default. Without `status`, deleted users are left out (deleted means hidden). `q` matches first, last, display and user name, email and extension; `inactiveSince` and `group` narrow further. Pass `nextCursor` back as `cursor` for the next page. The same filters are an operation\'s `selection` (POST /operations).',
    query: listQuery,
    responses: { 200: { description: 'A page of users.', schema: userPage } },
    handler: async ({ query, operator }) => {
      const after = decodeCursor(query.cursor, cursorSchema);
      const { users, hasMore } = await findUsers(orm.em.fork(), {
        tenantId: operator.tenantId,
        ...userFilterOf(query),
        ...(after ? { after } : {}),
        limit: query.limit,
      });
      const { policy } = operator;
      const last = users.at(-1);
      return {
        status: 200,
        body: {
          users: users.map((user) => userJson(user, policy)),
          nextCursor: hasMore && last ? encodeCursor({ createdAt: new Date(last.createdAt).toISOString(), id: last.id }) : null,
        },
      };
    },
  });

  define({
    method: 'get',
    path: '/users/count',
    tag: 'Users',
    summary: 'Count the users a filter matches',
    description: 'The N of "select all N matching": the users GET /users pages through with the same filters, and an operation with that `selection` would preview.',
    query: userFilterSchema,
    responses: { 200: { description: 'How many users match.', schema: z.object({ count: z.number().int() }).openapi('UserCount') } },
    handler: async ({ query, operator }) => ({ status: 200, body: { count: await countUsers(orm.em.fork(), operator.tenantId, userFilterOf(query)) } }),
  });

  define(idempotent(orm, {
    method: 'post',
    path: '/users',
    tag: 'Users',
    summary: 'Create a user',
    description: 'Status `password_required`; a welcome email with a set-password link is sent unless `sendWelcome: false`.',
    body: createUserBody,
    responses: {
      201: { description: 'The new user.', schema: userSchema },
      409: { description: 'The user name is taken in this tenant (already_exists).' },
    },
    handler: async ({ body, operator }) => ({ status: 201, body: userJson(await createUser(orm, operator, body), operator.policy) }),
  }));

  define({
    method: 'get',
    path: '/users/:id',
    tag: 'Users',
    summary: 'Read a user',
    params: idParams,
    responses: { 200: { description: 'The user.', schema: userSchema }, 404: { description: 'No such user in this tenant.' } },
    handler: async ({ params, operator }) => {
      const user = await findUserOr404(orm, operator.tenantId, params.id);
      const { policy } = operator;
      return { status: 200, body: userJson(user, policy) };
    },
  });

  define({
    method: 'patch',
    path: '/users/:id',
    tag: 'Users',
    summary: "Edit a user's details or role",
    description:
      'Name, email, phone, extension, department, role, user name. The step "edit the user\'s details before resetting app access": change the email and phone first so the old person cannot sign in with them. A userName set here is the operator\'s and is kept through resets and recycles. A role change that would leave the tenant without an admin who can sign in is refused (409 `last_admin`).',
    params: idParams,
    body: patchUserBody,
    responses: {
      200: { description: 'The user after the change.', schema: userSchema },
      404: { description: 'No such user in this tenant.' },
      409: { description: 'The user name is taken in this tenant (already_exists), or the change would demote the last admin who can sign in (last_admin).' },
    },
    handler: async ({ params, body, operator }) => {
      const user = await orm.em.fork().transactional(async (em) => {
        const changed = await updateUserDetails(em, operator.tenantId, params.id, body);
        if (!changed) throw userNotFound();
        if (changed.refusal) throw new RequestError(changed.refusal.code, 409, changed.refusal.message, { userIds: [params.id] });
        const fields = Object.keys(changed.before);
        if (fields.length) {
          insertAuditEntry(em, {
            tenantId: operator.tenantId,
            actor: operator.actor,
            action: fields.includes('role') ? 'user.role_changed' : 'user.updated',
            userId: params.id,
            // Names of the changed fields; the role's old and new value (not personal data).
            details: { fields, ...(fields.includes('role') ? { fromRole: changed.before.role, toRole: body.role } : {}) },
          });
          await em.flush();
        }
        return (await findUserById(em, operator.tenantId, params.id))!;
      });
      return { status: 200, body: userJson(user, operator.policy) };
    },
  });
}

export async function findUserOr404(orm: Orm, tenantId: string, id: string): Promise<UserRecord> {
  const user = await findUserById(orm.em.fork(), tenantId, id);
  if (!user) throw userNotFound();
  return user;
}

export function userNotFound(): RequestError {
  return new RequestError('user_not_found', 404, 'No such user.');
}
