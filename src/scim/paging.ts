import { LRUCache } from 'lru-cache';
import type { ScimCursor, ScimFilter, ScimPage, ScimSort } from '../store/scim-filter.ts';
import type { ScimContext } from './context.ts';
import { attributeKey, filterAttributes, scimFilter } from './filter.ts';
import type { ListQuery } from './list.ts';

/**
 * Paging a SCIM list as IdPs walk it: Okta's import asks for startIndex=1, 201, 401, …
 * with count=200, one page after the other. RFC 7644 §3.4.2.4 pages by position (startIndex is
 * the 1-based index of the first result), and says pagination is not session based: clients
 * SHALL NOT assume repeatable results. Position alone, as OFFSET does it, skips a user whenever one
 * before the position is deleted during the walk, and returns one twice whenever one is created
 * before it.
 *
 * So a page that continues a walk (its startIndex is where a previous page of the same token,
 * tenant, filter and sort ended) continues after that page's last row, by the sort key and id
 * (keyset), and costs the same at any depth. Any other startIndex is served by position (OFFSET).
 *
 * The promise, for a walk whose pages follow one another (each startIndex the previous one plus
 * the items it returned) and are answered by one process within PAGE_CURSOR_TTL_MS of each other:
 * - every resource that exists for the whole walk, and whose sortBy value does not change during
 *   it, is returned exactly once (in the default order, by id, which never changes, the condition
 *   is only that it exists throughout);
 * - no resource is returned twice, on the same condition;
 * - a resource created or deleted during the walk is returned once or not at all.
 * - totalResults on each page is the walk's total: the items it returned before this page plus
 *   the matching resources still after it now (the plain count when nothing changed), so a client
 *   that pages until startIndex passes totalResults stops exactly after the last one.
 * Cursors live in this process: behind a load balancer without affinity a page may reach another
 * process, which answers it by position (OFFSET), correct by the RFC's letter but without the
 * promise under concurrent changes.
 */
export const PAGE_CURSOR_TTL_MS = 30 * 60_000;

/** About 200 bytes an entry: at most a few MB, whatever the number of walks. */
const cursors = new LRUCache<string, ScimCursor>({ max: 10_000, ttl: PAGE_CURSOR_TTL_MS });

type Find<T> = (query: ScimPage & { filter?: ScimFilter; sort?: ScimSort }) => Promise<{ rows: T[]; total: number; last?: ScimCursor }>;

/** The page `query` asks for, by `find` (a store finder), continuing a walk where one ended. */
export async function findListPage<T>(ctx: Pick<ScimContext, 'tenantId' | 'tokenId'>, resource: 'User' | 'Group', query: ListQuery, find: Find<T>): Promise<{ rows: T[]; total: number }> {
  const filter = scimFilter(query.filter);
  const sort: ScimSort | undefined = query.sortBy ? { path: query.sortBy, descending: query.sortOrder === 'descending', attributeKey, attributes: filterAttributes() } : undefined;
  const walk = JSON.stringify([ctx.tenantId, ctx.tokenId, resource, query.filter ?? null, sort ? [attributeKey(sort.path), sort.descending] : null]);
  const after = query.startIndex > 1 ? cursors.get(`${walk}@${query.startIndex}`) : undefined;
  const { rows, total, last } = await find({
    startIndex: query.startIndex,
    count: query.count,
    ...(after ? { after } : {}),
    ...(filter ? { filter } : {}),
    ...(sort ? { sort } : {}),
  });
  // Kept after use: a page asked again (a client's retry) is answered the same way.
  if (last && rows.length) cursors.set(`${walk}@${query.startIndex + rows.length}`, last);
  return { rows, total };
}
