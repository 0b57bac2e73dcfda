import type { EntityManager } from '@mikro-orm/postgresql';
import { SCIM_ACTIVE_STATUSES } from '../lifecycle/statuses.ts';
import { isUuid, sqlIn, type SqlFragment } from './sql.ts';

/**
 * SCIM filters to SQL: a parsed filter (src/scim/filter.ts) becomes a WHERE fragment with `?`
 * parameters over the columns of `users u` or `groups g`, so the database filters and pages, with
 * its indexes (`lower(user_name)`, `external_id`, ...), and no user is loaded to be filtered in
 * memory.
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

/** A parsed filter and how its attribute paths are named: SCIM's schema URNs are SCIM's to know. */
export interface ScimFilter {
  tree: FilterNode;
  /**
   * An attribute path as the columns below are keyed: lower case, a schema URN prefix replaced by
   * its short name (`urn:...:enterprise:2.0:User:employeeNumber` -> `enterprise:employeenumber`).
   */
  attributeKey(path: string): string;
}

/** A filter this store cannot translate (an unknown attribute, an operator its type does not take). */
export class UnsupportedFilter extends Error {
  override readonly name = 'UnsupportedFilter';
}

type Column =
  /** caseExact false (RFC 7643 default): compared lower-cased, like the `lower(...)` indexes. */
  | { type: 'string'; sql: string; caseExact?: boolean }
  | { type: 'uuid'; sql: string }
  | { type: 'date'; sql: string }
  | { type: 'boolean'; sql: string }
  /** A JSON array of {value, type, primary, display} objects (emails, phoneNumbers). */
  | { type: 'multi'; sql: string }
  /** Group members: rows of group_memberships. */
  | { type: 'members' };

interface FilterTarget {
  /** Attribute key (ScimFilter.attributeKey) to column. */
  columns: Record<string, Column>;
  /** The table alias the fragments refer to. */
  alias: string;
}

/** Sub-attributes of a multi-valued complex entry (emails, phoneNumbers). */
const ENTRY_COLUMNS: Record<string, Column> = {
  value: { type: 'string', sql: "e->>'value'" },
  type: { type: 'string', sql: "e->>'type'" },
  display: { type: 'string', sql: "e->>'display'" },
  primary: { type: 'boolean', sql: "(e->>'primary')::boolean" },
};

const ACTIVE_SQL = `(u.status in (${SCIM_ACTIVE_STATUSES.map((s) => `'${s}'`).join(', ')}) and u.idp_active)`;

const USERS: FilterTarget = {
  alias: 'u',
  columns: {
    id: { type: 'uuid', sql: 'u.id' },
    externalid: { type: 'string', sql: 'u.external_id', caseExact: true },
    username: { type: 'string', sql: 'u.user_name' },
    displayname: { type: 'string', sql: 'u.display_name' },
    'name.givenname': { type: 'string', sql: 'u.first_name' },
    'name.familyname': { type: 'string', sql: 'u.last_name' },
    title: { type: 'string', sql: 'u.title' },
    emails: { type: 'multi', sql: 'u.emails' },
    phonenumbers: { type: 'multi', sql: 'u.phone_numbers' },
    active: { type: 'boolean', sql: ACTIVE_SQL },
    'meta.created': { type: 'date', sql: 'u.created_at' },
    'meta.lastmodified': { type: 'date', sql: 'u.updated_at' },
    'enterprise:employeenumber': { type: 'string', sql: 'u.employee_number' },
    'enterprise:department': { type: 'string', sql: 'u.department' },
    'enterprise:costcenter': { type: 'string', sql: 'u.cost_center' },
    'enterprise:organization': { type: 'string', sql: 'u.organization' },
    'enterprise:division': { type: 'string', sql: 'u.division' },
    'enterprise:manager': { type: 'uuid', sql: 'u.manager_id' },
    'enterprise:manager.value': { type: 'uuid', sql: 'u.manager_id' },
    'turnover:extension': { type: 'string', sql: 'u.extension' },
    'turnover:role': { type: 'string', sql: 'u.role' },
    'turnover:terminationdate': { type: 'date', sql: 'u.termination_date' },
    'turnover:status': { type: 'string', sql: 'u.status' },
  },
};

const GROUPS: FilterTarget = {
  alias: 'g',
  columns: {
    id: { type: 'uuid', sql: 'g.id' },
    externalid: { type: 'string', sql: 'g.external_id', caseExact: true },
    displayname: { type: 'string', sql: 'g.display_name' },
    members: { type: 'members' },
    'members.value': { type: 'members' },
    'meta.created': { type: 'date', sql: 'g.created_at' },
    'meta.lastmodified': { type: 'date', sql: 'g.updated_at' },
  },
};

/**
 * The WHERE fragment for `filter` over `users u` or `groups g`; UnsupportedFilter for anything it
 * cannot translate. Exported for the unit tests; the finders below are its callers.
 */
export function scimFilterSql(filter: ScimFilter, table: 'users' | 'groups'): SqlFragment {
  const target = table === 'users' ? USERS : GROUPS;
  return translate(filter.tree, target.columns, target.alias, filter.attributeKey);
}

type KeyOf = ScimFilter['attributeKey'];

function translate(node: FilterNode, columns: Record<string, Column>, alias: string, key: KeyOf): SqlFragment {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const left = translate(node.left, columns, alias, key);
      const right = translate(node.right, columns, alias, key);
      return { sql: `(${left.sql} ${node.kind} ${right.sql})`, params: [...left.params, ...right.params] };
    }
    case 'not': {
      const inner = translate(node.node, columns, alias, key);
      return { sql: `((${inner.sql}) is not true)`, params: inner.params };
    }
    case 'valuePath': {
      const column = lookup(columns, node.path, key);
      if (column.type === 'multi') {
        const inner = translate(node.filter, ENTRY_COLUMNS, 'e', key);
        return { sql: `exists (select 1 from jsonb_array_elements(${column.sql}) e where ${inner.sql})`, params: inner.params };
      }
      if (column.type === 'members') return members(node.filter, alias, key);
      throw new UnsupportedFilter(`'${node.path}' is not a multi-valued attribute.`);
    }
    case 'present':
    case 'compare': {
      const [head, ...rest] = node.path.split('.');
      const sub = rest.join('.');
      // `emails.value eq "x"`, `emails co "x"`: a comparison on any entry of a multi-valued attribute.
      const whole = columns[key(node.path)];
      const parent = columns[key(head!)];
      if (!whole && parent?.type === 'multi' && sub) {
        return translate({ kind: 'valuePath', path: head!, filter: { ...node, path: sub } }, columns, alias, key);
      }
      const column = lookup(columns, node.path, key);
      if (column.type === 'multi') {
        if (node.kind === 'present') return { sql: `(jsonb_array_length(${column.sql}) > 0)`, params: [] };
        return translate({ kind: 'valuePath', path: node.path, filter: { ...node, path: 'value' } }, columns, alias, key);
      }
      if (column.type === 'members') {
        if (node.kind === 'present') return { sql: `exists (select 1 from group_memberships m where m.group_id = ${alias}.id)`, params: [] };
        return members({ ...node, path: 'value' }, alias, key);
      }
      if (node.kind === 'present') return present(column);
      return compare(column, node.op, node.value, node.raw, node.path);
    }
  }
}

function lookup(columns: Record<string, Column>, path: string, key: KeyOf): Column {
  const column = columns[key(path)];
  if (!column) throw new UnsupportedFilter(`Filtering on '${path}' is not supported.`);
  return column;
}

/** A filter on a group's members: only `value` (the user id) is stored. */
function members(filter: FilterNode, alias: string, key: KeyOf): SqlFragment {
  const inner = translate(filter, { value: { type: 'uuid', sql: 'm.user_id' } }, 'm', key);
  return { sql: `exists (select 1 from group_memberships m where m.group_id = ${alias}.id and ${inner.sql})`, params: inner.params };
}

function present(column: Exclude<Column, { type: 'multi' | 'members' }>): SqlFragment {
  if (column.type === 'string') return { sql: `(${column.sql} <> '')`, params: [] };
  return { sql: `(${column.sql} is not null)`, params: [] };
}

const SQL_OPS: Record<'eq' | 'gt' | 'ge' | 'lt' | 'le', string> = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' };

function compare(column: Exclude<Column, { type: 'multi' | 'members' }>, op: CompareOp, value: FilterValue, raw: string | undefined, path: string): SqlFragment {
  if (op === 'ne') {
    const eq = compare(column, 'eq', value, raw, path);
    return { sql: `((${eq.sql}) is not true)`, params: eq.params };
  }
  if (value === null) {
    // `eq null` is RFC 7644's way of asking for an absent value.
    if (op !== 'eq') throw new UnsupportedFilter(`'${op} null' is not a comparison (on '${path}').`);
    const p = present(column);
    return { sql: `((${p.sql}) is not true)`, params: [] };
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
export type SingularColumn = Exclude<Column, { type: 'multi' | 'members' }>;

/**
 * The column of a singular attribute of `users u` or `groups g`, as the filters use it; undefined
 * for an attribute this store does not know or a multi-valued one. The sort's column map is the
 * filters' one, so every attribute a filter can compare, a list can be sorted on.
 */
export function singularColumn(table: 'users' | 'groups', path: string, attributeKey: KeyOf): SingularColumn | undefined {
  const column = (table === 'users' ? USERS : GROUPS).columns[attributeKey(path)];
  // The types sortValue orders; a new singular type needs its case there.
  return column?.type === 'string' || column?.type === 'uuid' || column?.type === 'date' || column?.type === 'boolean' ? column : undefined;
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
function sortKeys(table: 'users' | 'groups', alias: string, sort: ScimSort | undefined): { exprs: string[]; types: string[] } {
  const id = `${alias}.id`;
  if (!sort) return { exprs: [id], types: ['uuid'] };
  const column = singularColumn(table, sort.path, sort.attributeKey) ?? multiValuedSortColumn(table, sort);
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
function multiValuedSortColumn(table: 'users' | 'groups', sort: ScimSort): SingularColumn | undefined {
  const [head, sub = 'value', ...rest] = sort.path.split('.');
  const column = (table === 'users' ? USERS : GROUPS).columns[sort.attributeKey(head!)];
  const entry = ENTRY_COLUMNS[sort.attributeKey(sub)];
  if (column?.type !== 'multi' || entry?.type !== 'string' || rest.length) return undefined;
  const chosen = `(select ${entry.sql} from jsonb_array_elements(${column.sql}) with ordinality as x(e, i) order by (e->>'primary')::boolean is true desc, i limit 1)`;
  return { type: 'string', sql: chosen };
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
  table: 'users' | 'groups',
  list: { columns: string; where: SqlFragment; filter: ScimFilter | undefined; sort?: ScimSort | undefined; page: ScimPage },
): Promise<{ rows: Array<Record<string, unknown>>; total: number; last?: ScimCursor }> {
  const alias = table === 'users' ? USERS.alias : GROUPS.alias;
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
