import type { EntityManager } from '@mikro-orm/postgresql';
import { SCIM_ACTIVE_STATUSES } from '../lifecycle/statuses.ts';
import { isUuid, sqlIn, type SqlFragment } from './sql.ts';

/**
 * SCIM filters to SQL: a parsed filter (src/scim/filter.ts) becomes a WHERE fragment with `?`
 * parameters over the columns of `users u` or `groups g`, so the database filters and pages, with
 * its indexes (`lower(user_name)`, `external_id`, ...), and no user is loaded to be filtered in
 * memory.
 *
 * Every attribute of the resource's schemas is filterable: src/scim describes them (name, type,
 * caseExact, multi-valued, sub-attributes, `returned: never`) from the SCIMMY definitions, and this
 * module knows where each is stored: a column (`STORED` below), a row of group_memberships, or,
 * for a User's core attributes without a column, the `scim_extra` jsonb that keeps them as sent.
 *
 * A comparison on a missing value is NULL, which WHERE, `and` and `or` treat as false; `not` and
 * `ne` negate with `is not true`, so a user without a title matches `not (title eq "x")` and
 * `title ne "x"`. Leaves stay bare column comparisons (no coalesce around them) so PostgreSQL can
 * use the indexes: `lower(user_name) = lower($1)` is Okta's lookup on (tenant_id, lower(user_name)).
 */
export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterValue = string | number | boolean | null;

/** A SCIM filter expression (RFC 7644 §3.4.2.2) as src/scim/filter.ts parses it. */
export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; node: FilterNode }
  /** `raw`: the text of an unquoted value, so `externalId eq 0042` compares as the string "0042". */
  | { kind: 'compare'; path: string; op: CompareOp; value: FilterValue; raw?: string }
  | { kind: 'present'; path: string }
  /** `emails[type eq "work"]`, and `emails[type eq "work"].value eq "x"` as that filter AND the comparison. */
  | { kind: 'valuePath'; path: string; filter: FilterNode };

/** A SCIM attribute as the store needs to know it (RFC 7643 §2.2, §7). */
export interface ScimAttribute {
  /** As the schema spells it: the key in stored JSON. */
  name: string;
  type: 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'binary' | 'reference' | 'complex';
  multiValued: boolean;
  caseExact: boolean;
  /** `returned: never` (password): not filterable, since a filter's answer would reveal it. */
  neverReturned: boolean;
  subAttributes: ScimAttribute[];
}

/** One resource type's attributes, by schema. */
export interface ScimResourceAttributes {
  schemas: Array<{
    /** The schema's URN, the first one the core schema. */
    id: string;
    /** How attribute keys name the schema: '' for the core schema, else e.g. 'enterprise:'. */
    prefix: string;
    attributes: ScimAttribute[];
  }>;
  /** meta.location is `${location}/${id}`; undefined when no base URL is known (no location is served then). */
  location?: string;
}

/** A parsed filter, how its attribute paths are named and what the attributes are: SCIM's schemas are SCIM's to know. */
export interface ScimFilter {
  tree: FilterNode;
  /**
   * An attribute path as the columns below are keyed: lower case, a schema URN prefix replaced by
   * its short name (`urn:...:enterprise:2.0:User:employeeNumber` -> `enterprise:employeenumber`).
   */
  attributeKey(path: string): string;
  attributes: Record<ScimTable, ScimResourceAttributes>;
}

export type ScimTable = 'users' | 'groups';

/** A filter this store cannot translate (an unknown attribute, an operator its type does not take). */
export class UnsupportedFilter extends Error {
  override readonly name = 'UnsupportedFilter';
}

/** A singular value: an SQL expression of its type, usable in WHERE and ORDER BY. */
type Scalar =
  /** caseExact false (RFC 7643 default): compared lower-cased, like the `lower(...)` indexes. */
  | { type: 'string'; sql: string; caseExact?: boolean }
  | { type: 'uuid'; sql: string }
  | { type: 'date'; sql: string }
  | { type: 'boolean'; sql: string }
  | { type: 'number'; sql: string };

export type Column =
  | Scalar
  /** A singular complex attribute (name, manager, meta): its sub-attributes are keyed `name.x`. */
  | { type: 'complex'; sub: string[] }
  /**
   * A multi-valued attribute: the values are the rows of `from` (a FROM item, with `where` when
   * it needs one), each value's sub-attributes keyed as in `entries`. A simple multi-valued
   * attribute (schemas) has the one entry `value`.
   */
  | { type: 'multi'; from: string; where?: string; entries: Record<string, Column> }
  /** `returned: never`; `unstored`: described by the schema but kept nowhere a filter can read (a defect). */
  | { type: 'never'; unstored?: true };

/** Where an attribute with storage of its own is; its type comes from the schema. */
type Stored =
  /** A singular value: an SQL expression over `users u` or `groups g`. */
  | { sql: string }
  /** An id: a uuid column, compared as one (its index), or as text for the other operators. */
  | { uuid: string }
  /** A multi-valued attribute kept as a jsonb array of its values. */
  | { jsonArray: string }
  /** A multi-valued attribute made of rows, its sub-attributes stored as `entries` says. */
  | { rows: string; where: string; entries: Record<string, Stored> };

const ACTIVE_SQL = `(u.status in (${SCIM_ACTIVE_STATUSES.map((s) => `'${s}'`).join(', ')}) and u.idp_active)`;
/** The weak ETag SCIM's meta.version serves (src/scim/users.ts, groups.ts). */
const versionSql = (alias: string) => `('W/"' || ${alias}.version || '"')`;
/** Attributes turnover never serves (a member's `$ref`): always absent. */
const ABSENT: Stored = { sql: 'null::text' };

/** Columns, and rows, of the attributes that have them; a User's other core attributes are in `u.scim_extra`. */
const STORED: Record<ScimTable, Record<string, Stored>> = {
  users: {
    id: { uuid: 'u.id' },
    externalid: { sql: 'u.external_id' },
    'meta.created': { sql: 'u.created_at' },
    'meta.lastmodified': { sql: 'u.updated_at' },
    'meta.resourcetype': { sql: "'User'" },
    'meta.version': { sql: versionSql('u') },
    username: { sql: 'u.user_name' },
    'name.givenname': { sql: 'u.first_name' },
    'name.familyname': { sql: 'u.last_name' },
    displayname: { sql: 'u.display_name' },
    title: { sql: 'u.title' },
    active: { sql: ACTIVE_SQL },
    emails: { jsonArray: 'u.emails' },
    phonenumbers: { jsonArray: 'u.phone_numbers' },
    groups: {
      rows: 'group_memberships gm join groups gg on gg.id = gm.group_id',
      where: 'gm.user_id = u.id',
      entries: { value: { uuid: 'gm.group_id' }, display: { sql: 'gg.display_name' }, type: { sql: "'direct'" }, $ref: ABSENT },
    },
    'enterprise:employeenumber': { sql: 'u.employee_number' },
    'enterprise:department': { sql: 'u.department' },
    'enterprise:costcenter': { sql: 'u.cost_center' },
    'enterprise:organization': { sql: 'u.organization' },
    'enterprise:division': { sql: 'u.division' },
    'enterprise:manager.value': { uuid: 'u.manager_id' },
    'enterprise:manager.displayname': { sql: '(select m.display_name from users m where m.id = u.manager_id)' },
    'enterprise:manager.$ref': ABSENT,
    'turnover:extension': { sql: 'u.extension' },
    'turnover:role': { sql: 'u.role' },
    'turnover:terminationdate': { sql: 'u.termination_date' },
    'turnover:status': { sql: 'u.status' },
  },
  groups: {
    id: { uuid: 'g.id' },
    externalid: { sql: 'g.external_id' },
    'meta.created': { sql: 'g.created_at' },
    'meta.lastmodified': { sql: 'g.updated_at' },
    'meta.resourcetype': { sql: "'Group'" },
    'meta.version': { sql: versionSql('g') },
    displayname: { sql: 'g.display_name' },
    // The members a group lists: users the IdP can see (src/store/scim-groups.ts).
    members: {
      rows: 'group_memberships m join users mu on mu.id = m.user_id',
      where: "m.group_id = g.id and mu.status not in ('deleted', 'purged') and mu.idp_deleted_at is null",
      entries: { value: { uuid: 'm.user_id' }, display: { sql: 'coalesce(mu.display_name, mu.user_name)' }, type: { sql: "'User'" }, $ref: ABSENT },
    },
  },
};

const ALIAS: Record<ScimTable, string> = { users: 'u', groups: 'g' };
/** Where a User's core attributes without a column are kept, as the IdP sent them (src/store/entities/user.ts). */
const JSON_FALLBACK: Partial<Record<ScimTable, string>> = { users: 'u.scim_extra' };

const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;

const built = new WeakMap<ScimResourceAttributes, Record<string, Column>>();

/**
 * The columns of `table`, keyed by attribute key (ScimFilter.attributeKey), for every attribute
 * `resource` describes. Singular attributes are `{ type, sql }`, usable in WHERE and ORDER BY.
 */
export function scimColumns(table: ScimTable, resource: ScimResourceAttributes): Record<string, Column> {
  let columns = built.get(resource);
  if (!columns) {
    columns = buildColumns(table, resource);
    built.set(resource, columns);
  }
  return columns;
}

function buildColumns(table: ScimTable, resource: ScimResourceAttributes): Record<string, Column> {
  const stored: Record<string, Stored> = {
    ...STORED[table],
    'meta.location': resource.location === undefined ? ABSENT : { sql: `(${quote(`${resource.location}/`)} || ${ALIAS[table]}.id)` },
  };
  const columns: Record<string, Column> = {};
  const add = (key: string, attribute: ScimAttribute, json: string | undefined): void => {
    if (attribute.neverReturned) {
      columns[key] = { type: 'never' };
    } else if (attribute.multiValued) {
      columns[key] = multiColumn(attribute, stored[key], json && `${json}->${quote(attribute.name)}`);
    } else if (attribute.type === 'complex') {
      const sub = attribute.subAttributes.map((s) => `${key}.${s.name.toLowerCase()}`);
      columns[key] = { type: 'complex', sub };
      attribute.subAttributes.forEach((s, i) => add(sub[i]!, s, json && `${json}->${quote(attribute.name)}`));
    } else {
      const at = stored[key];
      columns[key] = at ? storedScalar(attribute, at) : json ? jsonScalar(attribute, `${json}->${quote(attribute.name)}`) : { type: 'never', unstored: true };
    }
  };
  for (const schema of resource.schemas) {
    for (const attribute of schema.attributes) {
      if (attribute.name.toLowerCase() === 'schemas' && schema.prefix === '') continue;
      add(schema.prefix + attribute.name.toLowerCase(), attribute, schema.prefix === '' ? JSON_FALLBACK[table] : undefined);
    }
  }
  const schemas = resource.schemas[0]?.attributes.find((a) => a.name.toLowerCase() === 'schemas');
  if (schemas) columns.schemas = schemasColumn(resource, columns, schemas);
  return columns;
}

function scalarOf(attribute: ScimAttribute, sql: string): Column {
  switch (attribute.type) {
    case 'boolean':
      return { type: 'boolean', sql };
    case 'dateTime':
      return { type: 'date', sql };
    case 'decimal':
    case 'integer':
      return { type: 'number', sql };
    case 'complex':
      return { type: 'never', unstored: true };
    default:
      return { type: 'string', sql, caseExact: attribute.caseExact };
  }
}

function storedScalar(attribute: ScimAttribute, at: Stored): Column {
  if ('uuid' in at) return { type: 'uuid', sql: at.uuid };
  if ('sql' in at) return scalarOf(attribute, at.sql);
  return { type: 'never', unstored: true };
}

/** A value inside jsonb (`json` is a jsonb expression), typed by the schema; anything of another JSON type is absent. */
function jsonScalar(attribute: ScimAttribute, json: string): Column {
  const text = `(${json} #>> '{}')`;
  switch (attribute.type) {
    case 'boolean':
      return scalarOf(attribute, `(case when jsonb_typeof(${json}) = 'boolean' then (${json})::boolean end)`);
    case 'decimal':
    case 'integer':
      return scalarOf(attribute, `(case when jsonb_typeof(${json}) = 'number' then (${json})::numeric end)`);
    case 'dateTime':
      // SCIMMY checked the dateTime on the way in; the pattern keeps a hand-edited row from failing the cast.
      return scalarOf(attribute, `(case when ${text} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' then ${text}::timestamptz end)`);
    default:
      return scalarOf(attribute, text);
  }
}

function multiColumn(attribute: ScimAttribute, at: Stored | undefined, json: string | undefined): Column {
  if (at && 'rows' in at) {
    const entries = Object.fromEntries(
      attribute.subAttributes.map((s) => {
        const stored = at.entries[s.name.toLowerCase()];
        return [s.name.toLowerCase(), s.neverReturned ? { type: 'never' } : stored ? storedScalar(s, stored) : { type: 'never', unstored: true }];
      }),
    ) as Record<string, Column>;
    return { type: 'multi', from: at.rows, where: at.where, entries };
  }
  // A column holds an array (it defaults to '[]'); what the IdP sent into scim_extra is checked.
  const array = at && 'jsonArray' in at ? at.jsonArray : json && `(case when jsonb_typeof(${json}) = 'array' then ${json} else '[]'::jsonb end)`;
  if (!array) return { type: 'never', unstored: true };
  const entries: Record<string, Column> =
    attribute.type === 'complex'
      ? Object.fromEntries(attribute.subAttributes.map((s) => [s.name.toLowerCase(), s.neverReturned ? { type: 'never' } : jsonScalar(s, `e->${quote(s.name)}`)]))
      : { value: jsonScalar(attribute, 'e') };
  return { type: 'multi', from: jsonElements(array), entries };
}

/** The values of a jsonb array as rows `e`. */
const jsonElements = (array: string) => `jsonb_array_elements(${array}) e`;

/** `schemas`: the core schema, and each extension the resource has a value of (as SCIMMY serves them). */
function schemasColumn(resource: ScimResourceAttributes, columns: Record<string, Column>, attribute: ScimAttribute): Column {
  const parts = resource.schemas.map((schema, i) => {
    const one = `jsonb_build_array(${quote(schema.id)})`;
    if (i === 0) return one;
    const present = schema.attributes.map((a) => presentSql(columns[schema.prefix + a.name.toLowerCase()]!, columns)).join(' or ');
    return `(case when ${present || 'false'} then ${one} else '[]'::jsonb end)`;
  });
  return { type: 'multi', from: jsonElements(`(${parts.join(' || ')})`), entries: { value: jsonScalar({ ...attribute, multiValued: false }, 'e') } };
}

/** RFC 7644 `pr`: a non-empty value; for a complex attribute, any sub-attribute; for a multi-valued one, any value. */
function presentSql(column: Column, columns: Record<string, Column>): string {
  switch (column.type) {
    case 'never':
      return 'false';
    case 'complex':
      return `(${column.sub.map((k) => presentSql(columns[k]!, columns)).join(' or ')})`;
    case 'multi':
      return exists(column, 'true');
    case 'string':
      return `(${column.sql} <> '')`;
    default:
      return `(${column.sql} is not null)`;
  }
}

function exists(column: Extract<Column, { type: 'multi' }>, condition: string): string {
  return `exists (select 1 from ${column.from} where ${column.where ? `${column.where} and ` : ''}${condition})`;
}

/**
 * The WHERE fragment for `filter` over `users u` or `groups g`; UnsupportedFilter for anything it
 * cannot translate. Exported for the unit tests; the finders below are its callers.
 */
export function scimFilterSql(filter: ScimFilter, table: ScimTable): SqlFragment {
  return translate(filter.tree, scimColumns(table, filter.attributes[table]), filter.attributeKey);
}

type KeyOf = ScimFilter['attributeKey'];

function translate(node: FilterNode, columns: Record<string, Column>, key: KeyOf): SqlFragment {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const left = translate(node.left, columns, key);
      const right = translate(node.right, columns, key);
      return { sql: `(${left.sql} ${node.kind} ${right.sql})`, params: [...left.params, ...right.params] };
    }
    case 'not': {
      const inner = translate(node.node, columns, key);
      return { sql: `((${inner.sql}) is not true)`, params: inner.params };
    }
    case 'valuePath': {
      const k = key(node.path);
      const column = lookup(columns, k, node.path);
      // `emails[type eq "work" and value co "x"]`: both conditions on the same value.
      if (column.type === 'multi') {
        const inner = translate(node.filter, column.entries, key);
        return { sql: exists(column, inner.sql), params: inner.params };
      }
      // `name[givenName eq "x"]`: a singular complex attribute's one value.
      if (column.type === 'complex') return translate(node.filter, subColumns(columns, column, k), key);
      throw new UnsupportedFilter(`'${node.path}' is not a complex attribute: '[...]' filters its sub-attributes.`);
    }
    case 'present':
    case 'compare': {
      const k = key(node.path);
      // `emails.value eq "x"`, `addresses.locality eq "Paris"`: a comparison on any value.
      const dot = k.indexOf('.');
      if (!(k in columns) && dot > 0 && columns[k.slice(0, dot)]?.type === 'multi') {
        return translate({ kind: 'valuePath', path: node.path.slice(0, node.path.length - (k.length - dot)), filter: { ...node, path: k.slice(dot + 1) } }, columns, key);
      }
      const column = lookup(columns, k, node.path);
      if (node.kind === 'present') return { sql: presentSql(column, columns), params: [] };
      if (column.type === 'multi' || column.type === 'complex') {
        // RFC 7644 §3.4.2.2: a comparison on a complex attribute is one on its `value` sub-attribute.
        const value = column.type === 'multi' ? 'value' in column.entries : column.sub.includes(`${k}.value`);
        if (!value) throw new UnsupportedFilter(`'${node.path}' is complex: compare one of its sub-attributes.`);
        return translate({ kind: 'valuePath', path: node.path, filter: { ...node, path: 'value' } }, columns, key);
      }
      if (column.type === 'never') throw notFilterable(column, node.path);
      return compare(column, node.op, node.value, node.raw, node.path);
    }
  }
}

/** A singular complex attribute's sub-attributes, keyed by their own names. */
function subColumns(columns: Record<string, Column>, column: Extract<Column, { type: 'complex' }>, k: string): Record<string, Column> {
  return Object.fromEntries(column.sub.map((s) => [s.slice(k.length + 1), columns[s]!]));
}

function lookup(columns: Record<string, Column>, k: string, path: string): Column {
  const column = columns[k];
  if (!column) throw new UnsupportedFilter(`'${path}' is not an attribute of this resource's schemas.`);
  if (column.type === 'never') throw notFilterable(column, path);
  return column;
}

function notFilterable(column: Extract<Column, { type: 'never' }>, path: string): UnsupportedFilter {
  // An attribute described but not stored is a defect the unit tests catch (every attribute resolves).
  if (column.unstored) return new UnsupportedFilter(`'${path}' is not stored where a filter can read it.`);
  return new UnsupportedFilter(`'${path}' is never returned, so it cannot be filtered on.`);
}

const SQL_OPS: Record<'eq' | 'gt' | 'ge' | 'lt' | 'le', string> = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' };

function compare(column: Scalar, op: CompareOp, value: FilterValue, raw: string | undefined, path: string): SqlFragment {
  if (op === 'ne') {
    const eq = compare(column, 'eq', value, raw, path);
    return { sql: `((${eq.sql}) is not true)`, params: eq.params };
  }
  if (value === null) {
    // `eq null` is RFC 7644's way of asking for an absent value.
    if (op !== 'eq') throw new UnsupportedFilter(`'${op} null' is not a comparison (on '${path}').`);
    return { sql: `(${presentSql(column, {})} is not true)`, params: [] };
  }
  switch (column.type) {
    case 'boolean': {
      const bool = typeof value === 'boolean' ? value : typeof value === 'string' && /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : null;
      if (bool === null || op !== 'eq') throw new UnsupportedFilter(`'${path}' is a boolean: only 'eq true|false', 'ne' and 'pr' apply.`);
      return { sql: `(${column.sql} = ?)`, params: [bool] };
    }
    case 'date': {
      const date = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? new Date(value) : null;
      if (!date || Number.isNaN(date.getTime())) throw new UnsupportedFilter(`'${path}' is a dateTime: compare it with an ISO 8601 date.`);
      if (op === 'co' || op === 'sw' || op === 'ew') throw new UnsupportedFilter(`'${op}' does not apply to the dateTime '${path}'.`);
      return { sql: `(${column.sql} ${SQL_OPS[op]} ?::timestamptz)`, params: [date.toISOString()] };
    }
    case 'number': {
      if (typeof value !== 'number') throw new UnsupportedFilter(`'${path}' is a number: compare it with a number.`);
      if (op === 'co' || op === 'sw' || op === 'ew') throw new UnsupportedFilter(`'${op}' does not apply to the number '${path}'.`);
      return { sql: `(${column.sql} ${SQL_OPS[op]} ?::numeric)`, params: [value] };
    }
    case 'uuid': {
      const text = stringValue(value, raw, path);
      // Ids are UUIDs: an exact match uses the key's index; anything else cannot match.
      if (op === 'eq') return isUuid(text) ? { sql: `(${column.sql} = ?::uuid)`, params: [text.toLowerCase()] } : { sql: 'false', params: [] };
      return textCompare(`${column.sql}::text`, false, op, text);
    }
    case 'string':
      return textCompare(column.sql, column.caseExact === true, op, stringValue(value, raw, path));
  }
}

function stringValue(value: FilterValue, raw: string | undefined, path: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return raw ?? String(value);
  throw new UnsupportedFilter(`'${path}' is a string: compare it with a string.`);
}

function textCompare(sql: string, caseExact: boolean, op: Exclude<CompareOp, 'ne'>, value: string): SqlFragment {
  const col = caseExact ? sql : `lower(${sql})`;
  const param = caseExact ? '?' : 'lower(?)';
  switch (op) {
    case 'co':
      return { sql: `(${col} like ${like('%', '%')})`, params: [escapeLike(value)] };
    case 'sw':
      return { sql: `(${col} like ${like('', '%')})`, params: [escapeLike(value)] };
    case 'ew':
      return { sql: `(${col} like ${like('%', '')})`, params: [escapeLike(value)] };
    default:
      return { sql: `(${col} ${SQL_OPS[op]} ${param})`, params: [value] };
  }

  function like(before: string, after: string): string {
    const p = caseExact ? '?' : 'lower(?)';
    return [before && `'${before}'`, p, after && `'${after}'`].filter(Boolean).join(' || ');
  }
}

/** LIKE's own wildcards in a value are literal characters (backslash is PostgreSQL's default escape). */
function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A column a list can be sorted on: one value per resource (RFC 7644 §3.4.2.3). */
export type SingularColumn = Scalar;

const isScalar = (column: Column | undefined): column is Scalar =>
  column?.type === 'string' || column?.type === 'uuid' || column?.type === 'date' || column?.type === 'boolean' || column?.type === 'number';

/**
 * The column of a singular attribute of `users u` or `groups g`, as the filters use it; undefined
 * for an attribute this store does not know or a multi-valued one. The sort's column map is the
 * filters' one, so every attribute a filter can compare, a list can be sorted on.
 */
export function singularColumn(table: ScimTable, path: string, sort: Pick<ScimSort, 'attributeKey' | 'attributes'>): SingularColumn | undefined {
  const column = scimColumns(table, sort.attributes[table])[sort.attributeKey(path)];
  return isScalar(column) ? column : undefined;
}

/** A sortBy this store cannot sort on (an unknown or multi-valued attribute). */
export class UnsupportedSort extends Error {
  override readonly name = 'UnsupportedSort';
}

/** RFC 7644 §3.4.2.3 sortBy and sortOrder; `path` as the client sent it. */
export interface ScimSort {
  path: string;
  descending: boolean;
  attributeKey: KeyOf;
  /** The schemas' attributes, as for filters (ScimFilter.attributes). */
  attributes: Record<ScimTable, ScimResourceAttributes>;
}

/** A page of a SCIM list (RFC 7644 §3.4.2.4): 1-based `startIndex`, `count` of 0 or more. */
export interface ScimPage {
  startIndex: number;
  count: number;
  /**
   * Where the previous page of the same walk ended (its `last`): the page is then the `count` rows
   * after it in the list's order (keyset), whatever changed before it since; without it, OFFSET
   * startIndex - 1.
   */
  after?: ScimCursor;
}

/** The sort key of a row, as text, that a following page continues after. */
export type ScimCursor = { key: string[] };

/**
 * The list order as SQL expressions, never null, and the types to read a cursor back with. By id
 * alone (unique and immutable) when there is no sortBy, so a plain walk is an index range scan on
 * (tenant_id, id). With a sortBy: whether the value is missing, the value, the id. Missing values
 * (null or '') come last ascending and first descending (RFC 7644 §3.4.2.3); strings compare
 * lower-cased unless caseExact, in code point order (collation "C": "Unicode alphabetic sort
 * order with no specific locale implied"); ties are broken by id so pages never overlap.
 */
function sortKeys(table: ScimTable, alias: string, sort: ScimSort | undefined): { exprs: string[]; types: string[] } {
  const id = `${alias}.id`;
  if (!sort) return { exprs: [id], types: ['uuid'] };
  const column = singularColumn(table, sort.path, sort) ?? multiValuedSortColumn(table, sort);
  if (!column) throw new UnsupportedSort(`Sorting on '${sort.path}' is not supported for a ${table === 'users' ? 'User' : 'Group'}.`);
  const [value, type, none] = sortValue(column);
  return { exprs: [`(${value} is null)`, `coalesce(${value}, ${none})${type === 'text' ? ' collate "C"' : ''}`, id], types: ['boolean', type, 'uuid'] };
}

/**
 * RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary value, else its first. For
 * the JSON arrays (emails, phoneNumbers): `emails` and `emails.value` by that entry's value,
 * `emails.type` by its type. Group members (no primary, and an order of joining nobody asked
 * for) are not sorted on.
 */
function multiValuedSortColumn(table: ScimTable, sort: ScimSort): SingularColumn | undefined {
  const [head, sub = 'value', ...rest] = sort.path.split('.');
  const column = scimColumns(table, sort.attributes[table])[sort.attributeKey(head!)];
  if (column?.type !== 'multi' || rest.length) return undefined;
  const entry = column.entries[sort.attributeKey(sub)];
  const primary = column.entries.primary;
  // Rows without a primary flag and without an order of their own (a group's members) are not sorted on.
  if (!isScalar(entry) || entry.type !== 'string' || (!isScalar(primary) && !('value' in column.entries && Object.keys(column.entries).length === 1))) return undefined;
  const where = column.where ? ` where ${column.where}` : '';
  // A function scan yields the array's elements in order: without a primary, the first wins.
  const first = `(select v from (select ${entry.sql} as v, ${isScalar(primary) ? primary.sql : 'null::boolean'} as p from ${column.from}${where}) x order by p is true desc limit 1)`;
  return { type: 'string', sql: first, ...(entry.caseExact ? { caseExact: true } : {}) };
}

/** The sort value (null when missing), its SQL type, and the stand-in for a missing value. */
function sortValue(column: SingularColumn): [string, string, string] {
  switch (column.type) {
    case 'string':
      return [column.caseExact ? `nullif(${column.sql}, '')` : `lower(nullif(${column.sql}, ''))`, 'text', "''"];
    case 'date':
      return [column.sql, 'timestamptz', "'-infinity'::timestamptz"];
    case 'uuid':
      return [column.sql, 'uuid', "'00000000-0000-0000-0000-000000000000'::uuid"];
    case 'boolean':
      return [column.sql, 'boolean', 'false'];
    case 'number':
      return [column.sql, 'numeric', "'-Infinity'::numeric"];
  }
}

/**
 * One page of a SCIM list over `users u` or `groups g`: the rows that meet `where` and `filter`,
 * in the sort's order, and the total, in the same statement's snapshot as the page: the count of
 * the matching rows, or after a cursor the walk's total (see `counted`). The page's ids are found first, by the sort key alone, and only those
 * rows get `columns` (subqueries such as a user's groups), so an OFFSET deep into a tenant does
 * not compute them for the rows it skips. `last` is the sort key of the page's last row.
 */
export async function findScimPage(
  em: EntityManager,
  table: ScimTable,
  list: { columns: string; where: SqlFragment; filter: ScimFilter | undefined; sort?: ScimSort | undefined; page: ScimPage },
): Promise<{ rows: Array<Record<string, unknown>>; total: number; last?: ScimCursor }> {
  const alias = ALIAS[table];
  const filter = list.filter === undefined ? { sql: 'true', params: [] } : scimFilterSql(list.filter, table);
  const matching = `from ${table} ${alias} where ${list.where.sql} and ${filter.sql}`;
  const params = [...list.where.params, ...filter.params];
  const { exprs, types } = sortKeys(table, alias, list.sort);
  const direction = list.sort?.descending ? ' desc' : '';
  const order = exprs.map((e) => `${e}${direction}`).join(', ');
  const after = list.page.after?.key.length === exprs.length ? list.page.after : undefined;
  const seek = after ? ` and (${exprs.join(', ')}) ${direction ? '<' : '>'} (${types.map((t) => `?::${t}`).join(', ')})` : '';
  const keyColumns = exprs.map((e, i) => `(${e})::text as "__k${i}"`).join(', ');
  // After a cursor the total is the walk's: the rows it returned so far plus the rows still after
  // the cursor, so a client that pages until startIndex passes totalResults sees every row.
  const counted = { sql: `select count(*) as total ${matching}${seek}`, params: [...params, ...(after?.key ?? [])] };
  const sql = sqlIn(em);
  const rows =
    list.page.count > 0
      ? await sql<Record<string, unknown> & { total: string }>(
          `with page as materialized (
             select ${alias}.id as "__id", ${keyColumns} ${matching}${seek} order by ${order} limit ?${after ? '' : ' offset ?'})
           select ${list.columns}, ${exprs.map((_, i) => `page."__k${i}"`).join(', ')}, (${counted.sql}) as total
             from page join ${table} ${alias} on ${alias}.id = page."__id" order by ${order}`,
          [...counted.params, list.page.count, ...(after ? [] : [list.page.startIndex - 1]), ...counted.params],
        )
      : [];
  const counts = rows.length ? Number(rows[0]!.total) : Number((await sql<{ total: string }>(counted.sql, counted.params))[0]!.total);
  const total = (after ? list.page.startIndex - 1 : 0) + counts;
  const lastRow = rows.at(-1);
  const result = rows.map((row) => {
    const { total: _total, ...rest } = row;
    for (let i = 0; i < exprs.length; i++) delete rest[`__k${i}`];
    return rest;
  });
  return { rows: result, total, ...(lastRow ? { last: { key: exprs.map((_, i) => String(lastRow[`__k${i}`])) } } : {}) };
}
