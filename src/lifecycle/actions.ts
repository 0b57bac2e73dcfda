import { z } from 'zod';
import { requestedResetOptionsSchema, type Policy, type ResetOptions } from './policy.ts';
import type { TaskPayloads, TaskType } from './tasks.ts';
import { transition, type LifecycleEvent, type LifecycleUser } from './transition.ts';

/**
 * The operator actions (DESIGN.md §4), each declared once: the task it runs for every selected user,
 * the request fields it takes and how they become that task's payload, the lifecycle event the task
 * applies, whether it can be undone, and the console's words for it. The admin API's operation
 * route and its dry run, the users' `allowedActions`, `GET /admin/actions` and through it the
 * console all read this table; the task registry (tasks.ts) types each payload builder.
 *
 * Adding an action: its entry here; when it needs a task type of its own, that type in tasks.ts
 * (payload schema, queue and retries), its processor in jobs/ (listed in jobs/index.ts), and a
 * migration that adds the type to the tasks table's check constraint; a rule of its own is an
 * event in transition.ts. The compiler asks for each of these but the migration. The admin API
 * (request schema and OpenAPI, dry run, allowedActions, GET /actions) and the console's bulk
 * dialog follow from the entry; an action with options of its own also needs its form there.
 */

/**
 * What an action is for. A user is offered an action (allowedActions) only where it would achieve
 * that: `status` moves the user to another status; `effect` sends or revokes something. Allowed
 * repeats that would do neither (ban a banned user, reset a seat already reset) are harmless when
 * a task runs twice, and are not offered.
 */
export type ActionPurpose = 'status' | 'effect';

export interface ActionDefinition<T extends TaskType, R extends z.ZodObject> {
  /** The console's name for the action (its button). */
  label: string;
  /** One line: what it does. The dry run lists `label: description` for an action with no reset plan. */
  description: string;
  /** The task each selected user gets. */
  taskType: T;
  /** Cannot be undone: the request runs only with the confirmToken of its dry run. */
  irreversible: boolean;
  purpose: ActionPurpose;
  /** The request's own fields (besides action, userIds, dryRun and confirm), as the admin API takes them. */
  request: R;
  /** The task payload for one selected user. */
  payload(request: z.output<R>, userId: string): TaskPayloads[T];
  /** The lifecycle event the task applies, from its payload (what the dry run previews). */
  event(payload: TaskPayloads[T]): LifecycleEvent;
  /** A payload that stands for any request of the action: it asks the transition whether a user is offered it. */
  probe: TaskPayloads[T];
  /**
   * Where the request gives a value per user (a recycle's new people, a reset's hand-over): these
   * must name exactly the selected users. `what` names them in the refusal.
   */
  perUser?: { path: readonly string[]; what: string };
  /** The options kept on the operation row and in the audit trail: the request's, never personal data. */
  recorded(request: z.output<R>): Record<string, unknown>;
  /** The options of the reset the task runs, if it runs one: the dry run details that reset. */
  resetOptions?(request: z.output<R>): Partial<ResetOptions> | undefined;
}

function defineAction<T extends TaskType, R extends z.ZodObject>(definition: ActionDefinition<T, R>): ActionDefinition<T, R> {
  return definition;
}

/** The request of an action that takes no options (`options: {}` is accepted). */
const NO_OPTIONS = z.object({ options: z.object({}).strict().optional() });

/** An action without options: every user's task gets the same payload. */
function withoutOptions<T extends TaskType>(
  definition: Pick<ActionDefinition<T, typeof NO_OPTIONS>, 'label' | 'description' | 'taskType' | 'irreversible' | 'purpose'> & { payload: TaskPayloads[T]; event: LifecycleEvent },
): ActionDefinition<T, typeof NO_OPTIONS> {
  const { payload, event, ...rest } = definition;
  return { ...rest, request: NO_OPTIONS, payload: () => payload, event: () => event, probe: payload, recorded: () => ({}) };
}

const resetOptions = requestedResetOptionsSchema
  .strict()
  .meta({ id: 'ResetOptions', description: 'Optional items a reset clears; a missing one takes the tenant default (defaultResetOptions).' });

const newPerson = z
  .object({
    firstName: z.string().trim().min(1).max(200),
    lastName: z.string().trim().min(1).max(200),
    email: z.email().max(320).optional(),
    sendWelcome: z.boolean().optional(),
  })
  .strict()
  .meta({
    description:
      "The seat's new person. A login derived from the email follows them: it becomes this email, or when there is none or it is another user's login, `first.last` (then `first.last.2` to `.9`), else stays the reset placeholder `seat-<id>`. A login an operator or the identity provider chose stays as it is.",
  });

type NewPerson = z.output<typeof newPerson>;

/** Each request's people by lower-cased user id, indexed once (a recycle may name 10,000). */
const peopleIndex = new WeakMap<Record<string, NewPerson>, Map<string, NewPerson>>();

/** The new person named for a user (ids compared case-insensitively; the request names one for every selected user). */
function personFor(users: Record<string, NewPerson>, userId: string): NewPerson {
  let index = peopleIndex.get(users);
  if (!index) {
    index = new Map();
    for (const [id, person] of Object.entries(users)) if (!index.has(id.toLowerCase())) index.set(id.toLowerCase(), person);
    peopleIndex.set(users, index);
  }
  return index.get(userId.toLowerCase())!;
}

const TABLE = {
  ban: withoutOptions({
    label: 'Ban',
    description: 'block every access; all history is kept',
    taskType: 'ban',
    irreversible: false,
    purpose: 'status',
    payload: {},
    event: { type: 'ban' },
  }),
  unban: withoutOptions({
    label: 'Unban',
    description: 'allow access again',
    taskType: 'unban',
    irreversible: false,
    purpose: 'status',
    payload: {},
    event: { type: 'unban' },
  }),
  disable: withoutOptions({
    label: 'Disable',
    description: 'switch the user off; their apps clear their message history',
    taskType: 'disable',
    irreversible: false,
    purpose: 'status',
    payload: { by: 'operator' },
    event: { type: 'disable' },
  }),
  activate: withoutOptions({
    label: 'Activate',
    description: 'switch the user on again',
    taskType: 'activate',
    irreversible: false,
    purpose: 'status',
    payload: { by: 'operator' },
    event: { type: 'activate' },
  }),
  unlock: withoutOptions({
    label: 'Unlock',
    description: 'let a user locked after too many wrong passwords sign in again',
    taskType: 'unlock',
    irreversible: false,
    purpose: 'status',
    payload: {},
    event: { type: 'unlock' },
  }),
  delete: withoutOptions({
    label: 'Delete',
    description: 'hide the user from lists and targeting; the record and history are kept',
    taskType: 'delete',
    irreversible: false,
    purpose: 'status',
    payload: {},
    event: { type: 'delete' },
  }),
  permanent_delete: withoutOptions({
    label: 'Permanently Delete',
    description: "remove personal data and the user's records for good (GDPR); this cannot be undone",
    taskType: 'purge',
    irreversible: true,
    purpose: 'status',
    payload: {},
    event: { type: 'permanent_delete' },
  }),
  reset: defineAction({
    label: 'Reset',
    // The operator portal's own words for a reset, then what stays.
    description: 'reset and delete user settings and data; the seat keeps its extension for the next person',
    taskType: 'reset',
    irreversible: true,
    purpose: 'status',
    request: z.object({
      options: resetOptions.optional(),
      handOver: z
        .object({ users: z.record(z.uuid(), newPerson.omit({ sendWelcome: true })) })
        .strict()
        .optional()
        .meta({ description: 'Hand each reset seat to a new person in the same task (what a recycle does, without a welcome e-mail): "Reset App Access".' }),
    }),
    payload: (request, userId) => {
      const to = request.handOver ? personFor(request.handOver.users, userId) : undefined;
      return {
        options: request.options ?? {},
        ...(to ? { handOverTo: { firstName: to.firstName, lastName: to.lastName, ...(to.email ? { email: to.email } : {}) } } : {}),
      };
    },
    event: (payload) => ({ type: 'reset', options: payload.options }),
    probe: { options: {} },
    perUser: { path: ['handOver', 'users'], what: 'a hand-over' },
    recorded: (request) => (request.handOver ? { ...request.options, handOver: Object.keys(request.handOver.users).length } : (request.options ?? {})),
    resetOptions: (request) => request.options ?? {},
  }),
  recycle: defineAction({
    label: 'Recycle',
    description: 'give each reset seat to a new person (new name and email); the user must set a password',
    taskType: 'recycle',
    irreversible: true,
    purpose: 'status',
    request: z.object({ options: z.object({ users: z.record(z.uuid(), newPerson) }).strict() }),
    payload: (request, userId) => {
      const person = personFor(request.options.users, userId);
      return {
        firstName: person.firstName,
        lastName: person.lastName,
        ...(person.email ? { email: person.email } : {}),
        ...(person.sendWelcome !== undefined ? { sendWelcome: person.sendWelcome } : {}),
      };
    },
    event: (payload) => ({ type: 'recycle', firstName: payload.firstName, lastName: payload.lastName, email: payload.email ?? null, sendWelcome: payload.sendWelcome === true }),
    probe: { firstName: 'New', lastName: 'Person' },
    perUser: { path: ['options', 'users'], what: 'recycle' },
    // The new people's names are personal data: only how many.
    recorded: (request) => ({ users: Object.keys(request.options.users).length }),
  }),
  welcome_email: withoutOptions({
    label: 'Send Welcome Email',
    description: 'sends new users an email with link to set up password and voicemail PIN',
    taskType: 'welcome_email',
    irreversible: false,
    purpose: 'effect',
    payload: { purpose: 'welcome' },
    event: { type: 'send_welcome' },
  }),
  force_password_reset: defineAction({
    label: 'Force Password Reset',
    description: 'clears password, forcing user to change it before they can access their account',
    taskType: 'force_password_reset',
    irreversible: false,
    purpose: 'effect',
    request: z.object({ options: z.object({ sendRecoveryEmail: z.boolean().optional() }).strict().optional() }),
    payload: (request) => ({ sendRecoveryEmail: request.options?.sendRecoveryEmail ?? true }),
    event: (payload) => ({ type: 'force_password_reset', sendRecoveryEmail: payload.sendRecoveryEmail }),
    probe: { sendRecoveryEmail: true },
    recorded: (request) => request.options ?? {},
  }),
  deprovision: defineAction({
    label: 'Deprovision',
    description: 'cut off every access at once (sessions, device tokens, set-password links)',
    taskType: 'deprovision',
    irreversible: true,
    purpose: 'effect',
    request: z.object({ options: z.object({ chainReset: z.boolean().optional(), resetOptions: resetOptions.optional() }).strict().optional() }),
    payload: (request) => ({
      source: 'operator',
      ...(request.options?.chainReset ? { chainReset: true, resetOptions: request.options.resetOptions ?? {} } : {}),
    }),
    // A deprovision task also carries IdP changes the mass-deprovision guard held (idpEvent).
    event: (payload) => (payload.idpEvent ? { type: payload.idpEvent } : { type: 'deprovision', source: payload.source === 'scim' ? 'scim' : 'admin' }),
    probe: { source: 'operator' },
    recorded: (request) => request.options ?? {},
    resetOptions: (request) => (request.options?.chainReset ? (request.options.resetOptions ?? {}) : undefined),
  }),
};

type Table = typeof TABLE;
export type OperatorAction = keyof Table;
type TaskOf<A extends OperatorAction> = Table[A]['taskType'];
type RequestOf<A extends OperatorAction> = Table[A]['request'];

/** Every operator action, by name (keyed so that each entry keeps its own task and request types). */
export const ACTIONS: { readonly [A in OperatorAction]: ActionDefinition<TaskOf<A>, RequestOf<A>> } = TABLE;
export const OPERATOR_ACTIONS = Object.keys(ACTIONS) as [OperatorAction, ...OperatorAction[]];

/** Whether the action's request carries options of its own (the console then has a form for it). */
export function takesOptions(action: OperatorAction): boolean {
  return ACTIONS[action].request !== NO_OPTIONS;
}

/** The actions whose request is `options: {}` at most, and that request's schema. */
export const ACTIONS_WITHOUT_OPTIONS = { actions: OPERATOR_ACTIONS.filter((a) => !takesOptions(a)), request: NO_OPTIONS };

/** The dry run's line for an action that does not run a reset (a reset lists its plan instead). */
export function actionLine(action: OperatorAction): string {
  return `${ACTIONS[action].label}: ${ACTIONS[action].description}`;
}

/** An operation as its tasks will run it: one task per user, the event each will apply, and what is recorded. */
export interface PlannedOperation<T extends TaskType> {
  taskType: T;
  tasks: Array<{ userId: string; payload: TaskPayloads[T]; event: LifecycleEvent }>;
  /** The options for the operation row and the audit trail. */
  recorded: Record<string, unknown>;
  /** The reset the tasks run, if they run one. */
  resetOptions: Partial<ResetOptions> | undefined;
}

/**
 * Plans an operation request for the selected users. `request` is the request body, validated
 * already against the admin API's schema (built from this table); its action's own fields are read
 * once more here with that action's schema, which is what types them for the action's payload
 * builder (a type cannot follow the pairing of an action and its fields out of a union). For the
 * largest request, a recycle naming 10,000 new people, that is about 10 ms.
 */
export function planOperation<A extends OperatorAction>(action: A, request: unknown, userIds: readonly string[]): PlannedOperation<TaskOf<A>> {
  const definition = ACTIONS[action];
  const fields = parseRequest(definition.request, request);
  return {
    taskType: definition.taskType,
    tasks: userIds.map((userId) => {
      const payload = definition.payload(fields, userId);
      return { userId, payload, event: definition.event(payload) };
    }),
    recorded: definition.recorded(fields),
    resetOptions: definition.resetOptions?.(fields),
  };
}

/** An operation on a selection: every user's task gets the same payload, so it is planned once. */
export interface PlannedSelection<T extends TaskType> {
  taskType: T;
  payload: TaskPayloads[T];
  event: LifecycleEvent;
  recorded: Record<string, unknown>;
  resetOptions: Partial<ResetOptions> | undefined;
}

/**
 * Plans an operation on a selection (users matched by the user list's filters, not named). A
 * request that gives values per user (perUser: a recycle's new people, a reset's hand-over) names
 * its users and cannot take a selection: null then.
 */
export function planSelection<A extends OperatorAction>(action: A, request: unknown): PlannedSelection<TaskOf<A>> | null {
  const definition = ACTIONS[action];
  const fields = parseRequest(definition.request, request);
  if (definition.perUser && valueAt(fields, definition.perUser.path) !== undefined) return null;
  const payload = definition.payload(fields, '');
  return { taskType: definition.taskType, payload, event: definition.event(payload), recorded: definition.recorded(fields), resetOptions: definition.resetOptions?.(fields) };
}

/** The value at `path` in a parsed request, if there is one. */
export function valueAt(value: unknown, path: readonly string[]): unknown {
  let at: unknown = value;
  for (const key of path) at = typeof at === 'object' && at !== null ? Reflect.get(at, key) : undefined;
  return at;
}

function parseRequest<R extends z.ZodObject>(schema: R, request: unknown): z.output<R> {
  return schema.parse(request);
}

/** The event standing for any request of `action`. */
function probeEvent<A extends OperatorAction>(action: A): LifecycleEvent {
  const definition = ACTIONS[action];
  return definition.event(definition.probe);
}

/**
 * The actions an operator is offered for a user: those the transition allows for the user's status
 * under the tenant policy and that would achieve their purpose (see ActionPurpose). What a request
 * may still refuse for the tenant as a whole (the last admin) is the request's to say.
 */
export function allowedActions(user: LifecycleUser, policy: Policy): OperatorAction[] {
  // A page of users is mostly alike: users equal in every field the rules read are decided once per policy.
  let decided = decidedUnder.get(policy);
  if (!decided) decidedUnder.set(policy, (decided = new Map()));
  const key = `${user.status}|${user.disabledBy}|${user.failedLoginCount}|${user.hasPassword}|${user.derivedLogin ? 'derived' : ''}`;
  let actions = decided.get(key);
  if (!actions) {
    actions = OPERATOR_ACTIONS.filter((action) => {
      const result = transition(user, probeEvent(action), policy);
      if (!result.ok) return false;
      return ACTIONS[action].purpose === 'status' ? result.status !== user.status : result.effects.length > 0;
    });
    decided.set(key, actions);
  }
  return [...actions];
}
const decidedUnder = new WeakMap<Policy, Map<string, OperatorAction[]>>();
