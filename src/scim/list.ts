import SCIMMY from 'scimmy';
import { scimError } from './errors.ts';
import { attributesWithoutValueFilters } from './normalise.ts';
import { DEFAULT_COUNT, MAX_RESULTS } from './schemas.ts';

/**
 * Query parameters of a list request (RFC 7644 §3.4.2): the filter text, paging, and the
 * attribute selection SCIMMY applies on the way out. Paging happens in SQL with a stable order (the
 * store's findScimUsers and findScimGroups); the ListResponse is built here because SCIMMY's would
 * slice an already sliced page again.
 */
export interface ListQuery {
  filter?: string;
  /** 1-based, at least 1. */
  startIndex: number;
  /** 0 ..= MAX_RESULTS. */
  count: number;
  attributes?: string;
  excludedAttributes?: string;
  /** RFC 7644 §3.4.2.3: an attribute path (the store says whether it can sort on it). */
  sortBy?: string;
  /** Ascending unless the client asked for `descending`; ignored without sortBy. */
  sortOrder?: 'ascending' | 'descending';
}

const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

export function parseListQuery(query: Record<string, unknown>): ListQuery {
  const integer = (name: 'startIndex' | 'count', fallback: number): number => {
    const raw = query[name];
    if (raw === undefined || raw === '') return fallback;
    if (typeof raw === 'number' && Number.isInteger(raw)) return raw;
    if (typeof raw !== 'string' || !/^[-+]?\d{1,15}$/.test(raw.trim())) {
      throw scimError(400, 'invalidValue', `'${name}' must be an integer.`);
    }
    return Number(raw.trim());
  };
  const text = (name: 'filter' | 'attributes' | 'excludedAttributes' | 'sortBy' | 'sortOrder'): string | undefined => {
    const raw = query[name];
    if (raw === undefined) return undefined;
    if (typeof raw !== 'string') throw scimError(400, name === 'filter' ? 'invalidFilter' : 'invalidValue', `'${name}' must be given once, as text.`);
    return raw;
  };
  const filter = text('filter');
  const rawAttributes = text('attributes');
  const attributes = attributeList(rawAttributes === undefined ? undefined : attributesWithoutValueFilters(rawAttributes), 'attributes');
  const excludedAttributes = attributeList(text('excludedAttributes'), 'excludedAttributes');
  const sortBy = text('sortBy')?.trim();
  const sortOrder = text('sortOrder')?.trim().toLowerCase();
  // invalidValue: RFC 7644 §3.12 lists it for GET (§3.4.2) and POST; invalidFilter and invalidPath
  // are about filter and PATCH path expressions, which sortBy and sortOrder are not.
  if (sortBy !== undefined && (sortBy.length > 300 || !ATTRIBUTE_PATH.test(sortBy))) {
    throw scimError(400, 'invalidValue', `'sortBy' must name one attribute, as in sortBy=name.familyName.`);
  }
  if (sortOrder !== undefined && sortOrder !== 'ascending' && sortOrder !== 'descending') {
    throw scimError(400, 'invalidValue', `'sortOrder' must be 'ascending' or 'descending'.`);
  }
  return {
    ...(filter === undefined ? {} : { filter }),
    ...(sortBy ? { sortBy, sortOrder: sortOrder ?? 'ascending' } : {}),
    ...(attributes === undefined ? {} : { attributes }),
    ...(excludedAttributes === undefined ? {} : { excludedAttributes }),
    // RFC 7644 §3.4.2.4: below 1 means 1; a negative count means 0; above the maximum, the maximum.
    startIndex: Math.max(1, integer('startIndex', 1)),
    count: Math.min(MAX_RESULTS, Math.max(0, integer('count', DEFAULT_COUNT))),
  };
}

/**
 * RFC 7644 §3.10 attrPath: an optional schema URN, an attribute name and at most one
 * sub-attribute (`name.givenName`, `urn:...:User:userName`). Checked here, before SCIMMY, whose
 * parser throws a TypeError (a 500) on an empty entry and recurses on every dot.
 */
const ATTRIBUTE_PATH = /^(?:urn:[A-Za-z0-9:._-]+:)?[A-Za-z$][\w$-]*(?:\.[A-Za-z$][\w$-]*)?$/;
const MAX_ATTRIBUTES = 100;

function attributeList(raw: string | undefined, name: 'attributes' | 'excludedAttributes'): string | undefined {
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((part) => part.trim());
  if (parts.length > MAX_ATTRIBUTES) throw scimError(400, 'invalidValue', `'${name}' names more than ${MAX_ATTRIBUTES} attributes.`);
  for (const part of parts) {
    if (part === '') throw scimError(400, 'invalidValue', `'${name}' has an empty entry; separate attribute names with single commas.`);
    if (part.length > 300 || !ATTRIBUTE_PATH.test(part)) throw scimError(400, 'invalidPath', `'${name}' entry '${part.slice(0, 80)}' is not an attribute path.`);
  }
  return parts.join(',');
}

/** The `attributes` / `excludedAttributes` selection as SCIMMY parses it (400 invalidFilter when malformed). */
export function attributeSelection(Resource: typeof SCIMMY.Resources.User | typeof SCIMMY.Resources.Group, query: Pick<ListQuery, 'attributes' | 'excludedAttributes'>) {
  // The config-only constructor form (no id); SCIMMY's typings only declare the id form.
  return new (Resource as unknown as new (config: object) => { attributes?: SCIMMY.Types.Filter })({
    ...(query.attributes === undefined ? {} : { attributes: query.attributes }),
    ...(query.excludedAttributes === undefined ? {} : { excludedAttributes: query.excludedAttributes }),
  }).attributes;
}

export function listResponse(resources: unknown[], totalResults: number, startIndex: number) {
  return { schemas: [LIST_RESPONSE], totalResults, startIndex, itemsPerPage: resources.length, Resources: resources };
}
