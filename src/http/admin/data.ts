import { z } from 'zod';
import { CLEARABLE_USER_DATA_KINDS, SHARED_CONTACT_KIND } from '../../lifecycle/reset-plan.ts';
import { insertAuditEntry } from '../../store/audit.ts';
import { findDevicesOfUsers, type DeviceRecord } from '../../store/devices.ts';
import { DEVICE_KINDS, PHONE_NUMBER_STATES } from '../../store/entities/index.ts';
import type { Orm } from '../../store/orm.ts';
import { assignPhoneNumber, findPhoneNumbers, insertPhoneNumber, type PhoneNumberRecord } from '../../store/phone-numbers.ts';
import { countUserDataByKind, findSharedContacts, findUserData, insertUserData, type UserDataItem } from '../../store/user-data.ts';
import { RequestError } from '../errors.ts';
import { idParams, limitQuery, type DefineRoute } from './route.ts';
import { findUserOr404 } from './users.ts';

/**
 * The data resets act on (DESIGN.md §4): a user's items by kind, the tenant's shared contacts, the
 * phone-number inventory with assignment, and each user's devices. The phone system or app writes
 * items here; a reset clears them per its options (jobs/reset.ts), so they are real rows.
 */
/** One item of a user's data (a voicemail's metadata, a contact, an app record): a JSON object of at most 64 KiB. */
export const MAX_USER_DATA_PAYLOAD = 64 * 1024;
export const userDataPayload = z
  .record(z.string(), z.unknown())
  .refine((payload) => Buffer.byteLength(JSON.stringify(payload)) <= MAX_USER_DATA_PAYLOAD, { message: `a payload is at most ${MAX_USER_DATA_PAYLOAD / 1024} KiB of JSON` });

const E164 = z.string().trim().regex(/^\+[1-9][0-9]{1,14}$/, 'a number in E.164 form, e.g. +15550100');

const itemSchema = z
  .object({ id: z.uuid(), kind: z.string(), payload: z.record(z.string(), z.unknown()), createdAt: z.iso.datetime() })
  .openapi('UserDataItem');
const numberSchema = z
  .object({
    id: z.uuid(),
    number: z.string(),
    state: z.enum(PHONE_NUMBER_STATES),
    userId: z.uuid().nullable(),
    assignedAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi('PhoneNumber');
const deviceSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(DEVICE_KINDS),
    clientId: z.string(),
    name: z.string().nullable(),
    mac: z.string().nullable(),
    pendingItems: z.number(),
    clearHistory: z.boolean(),
    lastCheckinAt: z.iso.datetime().nullable(),
    removedAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi('Device');
const contactSchema = z.object({ id: z.uuid(), name: z.string(), phone: z.string(), createdAt: z.iso.datetime() }).openapi('SharedContact');

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);
const itemJson = (item: UserDataItem) => ({ ...item, createdAt: iso(item.createdAt)! });
const numberJson = (n: PhoneNumberRecord) => ({ ...n, assignedAt: iso(n.assignedAt), createdAt: iso(n.createdAt)! });
const deviceJson = ({ userId: _userId, ...d }: DeviceRecord) => ({
  ...d,
  lastCheckinAt: iso(d.lastCheckinAt),
  removedAt: iso(d.removedAt),
  createdAt: iso(d.createdAt)!,
});
const contactJson = (item: UserDataItem) => ({
  id: item.id,
  name: String(item.payload.name ?? ''),
  phone: String(item.payload.phone ?? ''),
  createdAt: iso(item.createdAt)!,
});

export function dataRoutes(define: DefineRoute, { orm }: { orm: Orm }): void {
  define({
    method: 'get',
    path: '/users/:id/data',
    tag: 'User data',
    summary: "A user's data: counts and items by kind",
    params: idParams,
    query: z.object({ kind: z.string().max(64).optional(), limit: limitQuery }),
    responses: {
      200: {
        description: 'Counts of every kind, and the newest items (of `kind` when given).',
        schema: z.object({ counts: z.record(z.string(), z.number()), items: z.array(itemSchema) }).openapi('UserData'),
      },
      404: { description: 'No such user in this tenant.' },
    },
    handler: async ({ params, query, operator }) => {
      await findUserOr404(orm, operator.tenantId, params.id);
      const em = orm.em.fork();
      const counts = (await countUserDataByKind(em, operator.tenantId, [params.id])).get(params.id) ?? {};
      const items = await findUserData(em, operator.tenantId, params.id, { ...(query.kind ? { kind: query.kind } : {}), limit: query.limit });
      return { status: 200, body: { counts, items: items.map(itemJson) } };
    },
  });

  define({
    method: 'post',
    path: '/users/:id/data',
    tag: 'User data',
    summary: 'Add an item to a user\'s data (as the phone system or app would)',
    params: idParams,
    body: z.object({ kind: z.enum(CLEARABLE_USER_DATA_KINDS), payload: userDataPayload }).strict().openapi('NewUserDataItem'),
    responses: { 201: { description: 'The item.', schema: itemSchema }, 404: { description: 'No such user in this tenant.' } },
    handler: async ({ params, body, operator }) => {
      await findUserOr404(orm, operator.tenantId, params.id);
      const [item] = await insertUserData(orm.em.fork(), operator.tenantId, params.id, [body]);
      return { status: 201, body: itemJson(item!) };
    },
  });

  define({
    method: 'get',
    path: '/users/:id/devices',
    tag: 'User data',
    summary: "A user's devices (apps, soft phones, desk phones) with their last check-in and pending items",
    params: idParams,
    responses: { 200: { description: 'The devices.', schema: z.object({ devices: z.array(deviceSchema) }) }, 404: { description: 'No such user in this tenant.' } },
    handler: async ({ params, operator }) => {
      await findUserOr404(orm, operator.tenantId, params.id);
      const devices = await findDevicesOfUsers(orm.em.fork(), operator.tenantId, [params.id]);
      return { status: 200, body: { devices: devices.map(deviceJson) } };
    },
  });

  define({
    method: 'put',
    path: '/users/:id/number',
    tag: 'Numbers',
    summary: 'Route a number from the inventory to the user (null: release it)',
    description: 'One number per user: the previous one goes back to the inventory as available.',
    params: idParams,
    body: z.object({ number: E164.nullable() }).strict(),
    responses: {
      200: { description: 'The assignment.', schema: z.object({ number: numberSchema.nullable(), released: z.array(z.string()) }) },
      404: { description: 'No such user, or number_not_found: the number is not in the inventory.' },
      409: { description: 'number_taken: routed to another user.' },
    },
    handler: async ({ params, body, operator }) => {
      await findUserOr404(orm, operator.tenantId, params.id);
      const result = await orm.em.fork().transactional(async (em) => {
        const assigned = await assignPhoneNumber(em, operator.tenantId, params.id, body.number);
        if (!assigned.ok) return assigned;
        insertAuditEntry(em, {
          tenantId: operator.tenantId,
          actor: operator.actor,
          action: body.number ? 'user.number_assigned' : 'user.number_released',
          userId: params.id,
          details: { number: body.number, released: assigned.released },
        });
        await em.flush();
        return assigned;
      });
      if (!result.ok) {
        throw result.code === 'number_not_found'
          ? new RequestError('number_not_found', 404, 'That number is not in the inventory; add it with POST /admin/numbers first.')
          : new RequestError('number_taken', 409, 'That number is routed to another user.');
      }
      return { status: 200, body: { number: result.number ? numberJson(result.number) : null, released: result.released } };
    },
  });

  define({
    method: 'get',
    path: '/numbers',
    tag: 'Numbers',
    summary: 'The phone-number inventory',
    query: z.object({ state: z.enum(PHONE_NUMBER_STATES).optional() }),
    responses: { 200: { description: 'Every number, in order.', schema: z.object({ numbers: z.array(numberSchema) }) } },
    handler: async ({ query, operator }) => {
      const numbers = await findPhoneNumbers(orm.em.fork(), operator.tenantId, query.state ? { state: query.state } : {});
      return { status: 200, body: { numbers: numbers.map(numberJson) } };
    },
  });

  define({
    method: 'post',
    path: '/numbers',
    tag: 'Numbers',
    summary: 'Add a number to the inventory (available)',
    body: z.object({ number: E164 }).strict(),
    responses: { 201: { description: 'The number.', schema: numberSchema }, 409: { description: 'Already in the inventory.' } },
    handler: async ({ body, operator }) => {
      return { status: 201, body: numberJson(await insertPhoneNumber(orm.em.fork(), operator.tenantId, body.number)) };
    },
  });

  define({
    method: 'get',
    path: '/contacts',
    tag: 'Contacts',
    summary: "The tenant's shared contacts (a reset never touches them)",
    query: z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(1000) }),
    responses: { 200: { description: 'The shared contacts by name.', schema: z.object({ contacts: z.array(contactSchema) }) } },
    handler: async ({ query, operator }) => {
      const contacts = await findSharedContacts(orm.em.fork(), operator.tenantId, query.limit);
      return { status: 200, body: { contacts: contacts.map(contactJson) } };
    },
  });

  define({
    method: 'post',
    path: '/contacts',
    tag: 'Contacts',
    summary: 'Add a shared contact',
    body: z.object({ name: z.string().trim().min(1).max(200), phone: z.string().trim().min(1).max(64) }).strict().openapi('NewSharedContact'),
    responses: { 201: { description: 'The contact.', schema: contactSchema } },
    handler: async ({ body, operator }) => {
      const [item] = await insertUserData(orm.em.fork(), operator.tenantId, null, [{ kind: SHARED_CONTACT_KIND, payload: body }]);
      return { status: 201, body: contactJson(item!) };
    },
  });
}
