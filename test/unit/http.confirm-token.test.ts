import { describe, expect, it } from 'vitest';
import { canonical } from '../../src/http/admin/canonical-json.ts';
import { confirmKey, CONFIRM_TOKEN_TTL_MS, signConfirmToken, verifyConfirmToken } from '../../src/http/admin/confirm-token.ts';

const key = confirmKey({ id: '6f1d3c1e-0000-4000-8000-000000000001', createdAt: new Date('2026-01-01T00:00:00Z') });
const request = {
  tenantId: '6f1d3c1e-0000-4000-8000-000000000001',
  action: 'reset',
  userIds: ['b0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001'],
  options: { voicemailMessages: true, customContacts: true },
};
const NOW = Date.parse('2026-06-01T12:00:00Z');

describe('operation confirm token', () => {
  it('confirms exactly the previewed request, whatever the order of ids and option keys', () => {
    const { token, expiresAt } = signConfirmToken(key, request, NOW);
    expect(expiresAt.getTime()).toBe(Math.floor((NOW + CONFIRM_TOKEN_TTL_MS) / 1000) * 1000);
    expect(verifyConfirmToken(key, token, request, NOW)).toEqual({ ok: true });
    const reordered = { ...request, userIds: [...request.userIds].reverse().map((id) => id.toUpperCase()), options: { customContacts: true, voicemailMessages: true } };
    expect(verifyConfirmToken(key, token, reordered, NOW)).toEqual({ ok: true });
  });

  it('gives each preview its own token, even two of one request in the same instant', () => {
    const a = signConfirmToken(key, request, NOW);
    const b = signConfirmToken(key, request, NOW);
    expect(a.token).not.toBe(b.token);
    expect(verifyConfirmToken(key, b.token, request, NOW)).toEqual({ ok: true });
  });

  it.each([
    ['another action', { ...request, action: 'recycle' }],
    ['one user fewer', { ...request, userIds: request.userIds.slice(1) }],
    ['one user more', { ...request, userIds: [...request.userIds, 'c0000000-0000-4000-8000-000000000003'] }],
    ['another option', { ...request, options: { voicemailMessages: true } }],
    ['an option off instead of absent', { ...request, options: { ...request.options, answeringRules: false } }],
    ['another tenant', { ...request, tenantId: '6f1d3c1e-0000-4000-8000-000000000002' }],
  ])('refuses %s', (_name, other) => {
    const { token } = signConfirmToken(key, request, NOW);
    expect(verifyConfirmToken(key, token, other, NOW)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('refuses it once expired, when its expiry was altered, when malformed, missing, or signed with another key', () => {
    const { token } = signConfirmToken(key, request, NOW);
    expect(verifyConfirmToken(key, token, request, NOW + CONFIRM_TOKEN_TTL_MS + 1000)).toEqual({ ok: false, reason: 'expired' });
    const [v, expires, nonce, mac] = token.split('.');
    expect(verifyConfirmToken(key, `${v}.${Number(expires) + 3600}.${nonce}.${mac}`, request, NOW)).toEqual({ ok: false, reason: 'mismatch' });
    const otherNonce = `${nonce!.startsWith('A') ? 'B' : 'A'}${nonce!.slice(1)}`;
    expect(verifyConfirmToken(key, `${v}.${expires}.${otherNonce}.${mac}`, request, NOW)).toEqual({ ok: false, reason: 'mismatch' });
    expect(verifyConfirmToken(key, 'v2.nope', request, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyConfirmToken(key, undefined, request, NOW)).toEqual({ ok: false, reason: 'missing' });
    const otherKey = confirmKey({ id: request.tenantId, createdAt: '2026-01-02T00:00:00Z' });
    expect(verifyConfirmToken(otherKey, token, request, NOW)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('binds a selection: another filter, the same filter as ids, or ids as a selection is another request', () => {
    const bySelection = { ...request, userIds: [], selection: { status: 'active', inactiveSince: '2026-03-01T00:00:00.000Z' } };
    const { token } = signConfirmToken(key, bySelection, NOW);
    expect(verifyConfirmToken(key, token, { ...bySelection, selection: { inactiveSince: '2026-03-01T00:00:00.000Z', status: 'active' } }, NOW)).toEqual({ ok: true });
    for (const other of [
      { ...bySelection, selection: { status: 'active' } },
      { ...bySelection, selection: { ...bySelection.selection, q: 'ada' } },
      { ...bySelection, selection: undefined },
    ]) {
      expect(verifyConfirmToken(key, token, other, NOW)).toEqual({ ok: false, reason: 'mismatch' });
    }
    const byIds = signConfirmToken(key, request, NOW).token;
    expect(verifyConfirmToken(key, byIds, { ...request, selection: {} }, NOW)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('writes canonical JSON with sorted keys at every level', () => {
    expect(canonical({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"y":2,"z":1}]},"b":1}');
    expect(canonical({ a: undefined, b: 1 })).toBe('{"b":1}');
  });
});
