import SCIMMY from 'scimmy';
import { USER_ROLES } from '../lifecycle/statuses.ts';

/**
 * The SCIM schemas turnover serves: core User and Group (RFC 7643 §4), the enterprise User
 * extension (§4.3), and turnover's own User extension for the seat, the role, an HR termination
 * date and the lifecycle status (read-only). SCIMMY checks every resource against these on the
 * way in and out: types, required attributes, mutability, `returned: never` (password).
 */
export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
// SCIMMY only accepts ids under urn:ietf:params:scim:schemas:, hence the name.
export const TURNOVER_USER = 'urn:ietf:params:scim:schemas:extension:turnover:2.0:User';

/** Page size cap, advertised as filter.maxResults in /ServiceProviderConfig. */
export const MAX_RESULTS = 200;
/** Page size when the client does not say (RFC 7644 leaves it to the provider). */
export const DEFAULT_COUNT = 100;
/**
 * /Bulk limits, advertised as bulk.maxOperations and bulk.maxPayloadSize (bytes): a day's HR push
 * of 1,000 changes, and 1 MiB holds 1,000 rich creates (about 400 bytes each in bench/scim.ts).
 * 1,000 creates in one bulk took 8 to 13 s on the loaded 2-core development machine (bench/scim.ts).
 */
export const MAX_BULK_OPERATIONS = 1000;
export const MAX_BULK_PAYLOAD = 1024 * 1024;

const { Attribute, Schema, SchemaDefinition } = SCIMMY.Types;

const turnoverDefinition = new SchemaDefinition('TurnoverUser', TURNOVER_USER, 'turnover seat, role, termination and lifecycle status', [
  new Attribute('string', 'extension', { description: 'The seat (phone extension) the user occupies.' }),
  new Attribute('string', 'role', { canonicalValues: [...USER_ROLES], description: 'The user\'s role; basic_user when not given.' }),
  new Attribute('dateTime', 'terminationDate', {
    description: 'When HR ends the employment; the user is deprovisioned at that time.',
  }),
  new Attribute('string', 'status', {
    mutable: false,
    description: 'Lifecycle status (password_required, active, inactive, disabled, banned, denied, setup_required).',
  }),
]);

export class TurnoverUser extends Schema {
  static override get id() {
    return TURNOVER_USER;
  }
  static override get definition() {
    return turnoverDefinition;
  }
  constructor(resource: object, direction = 'both', basepath?: string, filters?: SCIMMY.Types.Filter) {
    super(resource, direction);
    Object.assign(this, turnoverDefinition.coerce(resource, direction, basepath, filters));
  }
}

/** The part of a SCIMMY resource instance (one request) the handlers read. */
export interface ScimResourceInstance {
  id?: string;
  filter?: SCIMMY.Types.Filter;
  attributes?: SCIMMY.Types.Filter;
  constraints?: { startIndex?: number; count?: number };
}

/** Handlers for one resource type; `ctx` is the request's context (see context.ts). */
export interface ResourceHandlers<Ctx> {
  ingress(resource: ScimResourceInstance, instance: Record<string, any>, ctx: Ctx): Promise<Record<string, unknown>>;
  egress(resource: ScimResourceInstance, ctx: Ctx): Promise<Record<string, unknown> | Array<Record<string, unknown>>>;
  degress(resource: ScimResourceInstance, ctx: Ctx): Promise<void>;
}

let declared = false;

/**
 * Declares Users (with both extensions) and Groups with SCIMMY. SCIMMY's registry is global to the
 * process, so this runs once; the handlers read the tenant from the per-request context instead.
 */
export function declareScimResources<Ctx>(handlers: { user: ResourceHandlers<Ctx>; group: ResourceHandlers<Ctx> }): void {
  if (!declared) {
    SCIMMY.Resources.declare(SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false).extend(TurnoverUser as never, false));
    SCIMMY.Resources.declare(SCIMMY.Resources.Group);
    declared = true;
  }
  const { User, Group } = SCIMMY.Resources;
  User.ingress(handlers.user.ingress as never).egress(handlers.user.egress as never).degress(handlers.user.degress as never);
  Group.ingress(handlers.group.ingress as never).egress(handlers.group.egress as never).degress(handlers.group.degress as never);
}

/**
 * What /ServiceProviderConfig advertises, and it is true: PATCH and filters are served (filters
 * in SQL, at most MAX_RESULTS a page), sorting (in SQL, paging.ts), passwords can be set, /Bulk within its
 * limits, and ETags.
 */
export function setServiceProviderConfig(documentationUri: string | undefined): void {
  SCIMMY.Config.set({
    documentationUri,
    patch: true,
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: true,
    bulk: { supported: true, maxOperations: MAX_BULK_OPERATIONS, maxPayloadSize: MAX_BULK_PAYLOAD },
    sort: true,
    etag: { supported: true },
  });
}
