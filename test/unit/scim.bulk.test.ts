import SCIMMY from 'scimmy';
import { describe, expect, it } from 'vitest';
import { BULK_REQUEST, parseBulkRequest, resolveReferences, runBulk, type BulkStep } from '../../src/scim/bulk.ts';

const post = (bulkId: string, data: Record<string, unknown> = {}) => ({ method: 'POST', path: '/Users', bulkId, data: { userName: bulkId, ...data } });
const request = (Operations: unknown[], extra: Record<string, unknown> = {}) => ({ schemas: [BULK_REQUEST], Operations, ...extra });
const refusal = (body: unknown, max?: number) => {
  try {
    parseBulkRequest(body, max);
  } catch (error) {
    const e = error as SCIMMY.Types.SCIMError;
    return { status: Number(e.status), scimType: e.scimType, detail: e.message };
  }
  throw new Error('not refused');
};

describe('parseBulkRequest', () => {
  it('runs in request order, each referenced POST moved before its first user', () => {
    const plan = parseBulkRequest(
      request([
        { method: 'PATCH', path: '/Users/bulkId:b', data: {} },
        post('a'),
        { method: 'POST', path: '/Groups', bulkId: 'g', data: { members: [{ value: 'bulkId:a' }, { value: 'bulkId:b' }] } },
        post('b', { manager: { value: 'bulkId:a' } }),
      ]),
    );
    // b needs a, so a runs before b, and both before the PATCH of b.
    expect(plan.order).toEqual([1, 3, 0, 2]);
    expect(plan.operations[0]).toMatchObject({ method: 'PATCH', resource: 'User', endpoint: '/Users', id: 'bulkId:b', references: ['b'] });
    expect(plan.operations[2]).toMatchObject({ resource: 'Group', references: ['a', 'b'] });
    expect(plan.failOnErrors).toBe(Infinity);
  });

  it('takes methods in any case, failOnErrors 0 as no limit', () => {
    const plan = parseBulkRequest(request([{ method: 'delete', path: '/Groups/x' }], { failOnErrors: 0 }));
    expect(plan.operations[0]).toMatchObject({ method: 'DELETE', resource: 'Group', id: 'x' });
    expect(plan.failOnErrors).toBe(Infinity);
    expect(parseBulkRequest(request([post('a')], { failOnErrors: 2 })).failOnErrors).toBe(2);
  });

  it('refuses a cycle with 409 naming it, and a self-reference', () => {
    expect(refusal(request([post('a', { m: 'bulkId:b' }), post('b', { m: 'bulkId:a' })]))).toMatchObject({ status: 409, detail: expect.stringContaining('bulkId:a -> bulkId:b -> bulkId:a') });
    expect(refusal(request([post('a', { m: 'bulkId:a' })]))).toMatchObject({ status: 409 });
  });

  it('refuses past maxOperations with 413 naming the limit', () => {
    expect(refusal(request([post('a'), post('b'), post('c')]), 2)).toMatchObject({ status: 413, detail: expect.stringContaining('maxOperations (2)') });
  });

  it('refuses malformed operations with 400 naming the operation', () => {
    expect(refusal(request([post('a'), { method: 'GET', path: '/Users' }]))).toMatchObject({ status: 400, scimType: 'invalidValue', detail: expect.stringContaining('Operations[1].method') });
    expect(refusal(request([{ method: 'DELETE', path: '/Users/a/b' }]))).toMatchObject({ status: 400, scimType: 'invalidValue' });
    expect(refusal(request([{ method: 'DELETE', path: '/Users?x=1' }]))).toMatchObject({ status: 400, scimType: 'invalidValue' });
    expect(refusal(request([{ method: 'DELETE', path: '/Users' }]))).toMatchObject({ status: 400, scimType: 'invalidValue' });
    expect(refusal(request([post('a'), post('a')]))).toMatchObject({ status: 400, detail: expect.stringContaining("'a' is also the bulkId of Operations[0]") });
    expect(refusal(request([{ method: 'PATCH', path: '/Users/bulkId:zz', data: {} }]))).toMatchObject({ status: 400, detail: expect.stringContaining('bulkId:zz') });
    expect(refusal(request([{ method: 'PUT', path: '/Users/x', data: [] }]))).toMatchObject({ status: 400, scimType: 'invalidSyntax' });
    expect(refusal(request([post('a')], { failOnErrors: 1.5 }))).toMatchObject({ status: 400, scimType: 'invalidValue' });
    expect(refusal({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [post('a')] })).toMatchObject({ status: 400, scimType: 'invalidSyntax' });
  });
});

describe('resolveReferences', () => {
  it('replaces whole bulkId strings only, deep', () => {
    const ids = new Map([['u1', 'id-1']]);
    expect(resolveReferences({ a: ['bulkId:u1', { value: 'bulkId:u1' }], b: 'x bulkId:u1', c: 'bulkId:u2', n: 1 }, ids)).toEqual({
      a: ['id-1', { value: 'id-1' }],
      b: 'x bulkId:u1',
      c: 'bulkId:u2',
      n: 1,
    });
  });
});

describe('runBulk', () => {
  const base = 'https://scim.example/scim/v2';
  it('feeds created ids forward, fails the users of a failed POST, stops at failOnErrors', async () => {
    const steps: BulkStep[] = [];
    const plan = parseBulkRequest(
      request(
        [
          post('ok'),
          { method: 'PATCH', path: '/Users/bulkId:ok', data: { v: 'bulkId:ok' } },
          post('bad'),
          { method: 'DELETE', path: '/Users/bulkId:bad' },
          post('late'),
        ],
        { failOnErrors: 2 },
      ),
    );
    const response = await runBulk(
      plan,
      async (step) => {
        steps.push(step);
        if (step.name === 'create' && (step.input.body as { userName: string }).userName === 'bad') return { failure: { status: 409, scimType: 'uniqueness', detail: 'taken', internal: false } };
        if (step.name === 'create') return { outcome: { status: 201, body: { id: 'id-ok', meta: { version: 'W/"1"', location: `${base}/Users/id-ok` } }, location: `${base}/Users/id-ok` } };
        return { outcome: { status: 200, body: { id: 'id-ok', meta: { version: 'W/"2"' } } } };
      },
      base,
    );
    expect(steps.map((s) => [s.name, s.input.id, s.input.body])).toEqual([
      ['create', undefined, { userName: 'ok' }],
      ['patch', 'id-ok', { v: 'id-ok' }],
      ['create', undefined, { userName: 'bad' }],
    ]);
    expect(response.Operations).toEqual([
      { method: 'POST', bulkId: 'ok', version: 'W/"1"', location: `${base}/Users/id-ok`, status: '201' },
      { method: 'PATCH', version: 'W/"2"', location: `${base}/Users/id-ok`, status: '200' },
      { method: 'POST', bulkId: 'bad', status: '409', response: expect.objectContaining({ status: '409', scimType: 'uniqueness' }) },
      { method: 'DELETE', status: '400', response: expect.objectContaining({ scimType: 'invalidValue', detail: expect.stringContaining('Operations[2] failed') }) },
    ]);
  });

  it('runs consecutive independent user creates side by side, never two of one userName, nor past failOnErrors', async () => {
    const overlap = async (Operations: unknown[], extra: Record<string, unknown> = {}) => {
      let running = 0;
      const waves: number[] = [];
      await runBulk(
        parseBulkRequest(request(Operations, extra)),
        async (step) => {
          waves.push(++running);
          await new Promise((resolve) => setTimeout(resolve, 5));
          running--;
          return { outcome: { status: step.name === 'create' ? 201 : 200, body: { id: `id-${(step.input.body as { userName?: string })?.userName}` } } };
        },
        base,
      );
      return Math.max(...waves);
    };
    expect(await overlap([post('a'), post('b'), post('c'), post('d')])).toBe(4);
    // The same userName (case aside) splits the run: the first one sent is created first.
    expect(await overlap([post('a'), post('b', { userName: 'A' })])).toBe(1);
    // A create that needs another's id waits for it; a PATCH runs alone.
    expect(await overlap([post('a'), post('b', { m: 'bulkId:a' })])).toBe(1);
    expect(await overlap([post('a'), { method: 'PATCH', path: '/Users/x', data: {} }, post('b')])).toBe(1);
    // failOnErrors 1: one at a time, so nothing runs after the first failure.
    expect(await overlap([post('a'), post('b'), post('c')], { failOnErrors: 1 })).toBe(1);
    expect(await overlap([post('a'), post('b'), post('c')], { failOnErrors: 2 })).toBe(2);
  });

  it("passes an operation's version as If-Match", async () => {
    const seen: BulkStep[] = [];
    await runBulk(parseBulkRequest(request([{ method: 'DELETE', path: '/Groups/g1', version: 'W/"7"' }])), async (step) => (seen.push(step), { outcome: { status: 204 } }), base);
    expect(seen[0]!.input).toEqual({ query: {}, id: 'g1', ifMatch: 'W/"7"' });
  });
});
