import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROCESSORS } from '../../jobs/index.ts';
import { apiClient, createAdminToken } from '../support/api-client.ts';
import { chromiumInstalled, launchChromium, NO_CHROMIUM } from '../support/browser.ts';
import { parseMail } from '../support/mime.ts';
import { useTestRuntime } from '../support/runtime.ts';
import { startSmtpSink } from '../support/smtp-sink.ts';

const PUBLIC_URL = 'https://turnover.test';
const LINK = /https:\/\/turnover\.test\/set-password\?token=([A-Za-z0-9_-]{43})/;
const NEW_PASSWORD = 'shiny new password 2026';

// Started before useTestRuntime's beforeAll reads SMTP_URL.
const sink = await startSmtpSink();
afterAll(() => sink.close());

/**
 * The operators' help-article flow end to end (Reset App Access, the User List's bulk reset and recycle), over HTTP with the relay and workers running:
 * edit the details, bulk reset three users with two optional items (dry run, then confirm), watch
 * the progress, recycle one seat with a new person, read the welcome email from the SMTP sink,
 * set the password from its link in a real headless Chromium, and sign in.
 */
describe('seed walk: bulk reset, recycle, welcome email, set password, sign in', () => {
  const t = useTestRuntime({
    label: 'seed_walk',
    processors: PROCESSORS,
    env: { SMTP_URL: sink.url, PUBLIC_URL, DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'turnover-walk-')) },
  });
  let api: ReturnType<typeof apiClient>;
  beforeAll(async () => {
    api = apiClient(t, await createAdminToken(t, 'office_manager'));
  });

  async function until(id: string, done: (b: any) => boolean): Promise<any> {
    const started = Date.now();
    for (;;) {
      const res = await api.get(`/admin/operations/${id}`);
      if (done(res.body)) return res.body;
      if (Date.now() - started > 20_000) throw new Error(`operation ${id}: ${JSON.stringify(res.body.counts)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('walks the whole flow', async () => {
    // ---- three employees with their data (the bulk action's selection) ------------------------------
    const people = [
      { firstName: 'Kaylee', lastName: 'Frye', email: 'kaylee@serenity.test', extension: '1002' },
      { firstName: 'Malcom', lastName: 'Reynolds', email: 'mal@serenity.test', extension: '1009' },
      { firstName: 'Inara', lastName: 'Serra', email: 'inara@serenity.test', extension: '1000', role: 'call_center_supervisor' },
    ];
    const ids: string[] = [];
    for (const [i, person] of people.entries()) {
      const created = await api.post('/admin/users', { ...person, sendWelcome: false });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      ids.push(id);
      // They have been working: a password (the one-time copy), and their data.
      expect((await api.post(`/admin/users/${id}/credentials`)).body.status).toBe('active');
      for (const kind of ['voicemail_message', 'voicemail_message', 'voicemail_greeting', 'answering_rule', 'custom_contact']) {
        expect((await api.post(`/admin/users/${id}/data`, { kind, payload: { of: person.firstName } })).status).toBe(201);
      }
      const number = `+1555010${i}`;
      await api.post('/admin/numbers', { number });
      expect((await api.put(`/admin/users/${id}/number`, { number })).status).toBe(200);
    }
    await api.post('/admin/contacts', { name: 'Front desk', phone: '+15550199' });
    const [kaylee, malcom, inara] = ids as [string, string, string];

    // ---- Reset App Access: edit the details before the reset so the old person cannot sign in ----------
    expect((await api.patch(`/admin/users/${malcom}`, { phone: '+15550999' })).status).toBe(200);

    // ---- Bulk Action > Reset Users, two options, "the following actions will take place"
    const request = { action: 'reset', userIds: ids, options: { voicemailMessages: true, customContacts: true } };
    const preview = await api.post('/admin/operations', { ...request, dryRun: true });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ total: 3, allowed: 3, irreversible: true });
    expect(preview.body.actions).toEqual([
      'Clear the first, last and display name',
      'Clear the email address',
      'Clear the password',
      'Clear the voicemail PIN',
      "Remove the user's soft phones",
      'Sign the user out of every app (app sessions and device tokens are revoked)',
      'Delete every voicemail message in the new, saved and trash folders',
      "Delete the user's own contacts (shared contacts are left untouched)",
      'Set the status to setup required; the extension, department, role and configuration are kept',
    ]);
    for (const user of preview.body.users) expect(user.willDelete).toEqual({ voicemail_message: 2, custom_contact: 1 });
    expect((await api.post('/admin/operations', request)).body.code).toBe('confirmation_required');

    const reset = await api.post('/admin/operations', { ...request, confirm: preview.body.confirmToken });
    expect(reset.status).toBe(202);
    const resetDone = await until(reset.body.operationId, (b) => b.state === 'completed');
    expect(resetDone.counts).toMatchObject({ total: 3, succeeded: 3, failed: 0 });

    for (const [i, id] of ids.entries()) {
      const user = (await api.get(`/admin/users/${id}`)).body;
      expect(user).toMatchObject({ status: 'setup_required', firstName: null, lastName: null, email: null, extension: people[i]!.extension, hasPassword: false });
      const data = (await api.get(`/admin/users/${id}/data`)).body;
      expect(data.counts).toEqual({ voicemail_greeting: 1, answering_rule: 1 });
    }
    expect((await api.get(`/admin/users/${inara}`)).body.role).toBe('call_center_supervisor');
    expect((await api.get('/admin/contacts')).body.contacts).toHaveLength(1);
    expect((await api.get('/admin/numbers?state=assigned')).body.numbers).toHaveLength(3); // not selected: kept

    // ---- Recycle User 1009 with the new person's name and email ------------------
    const recycle = {
      action: 'recycle',
      userIds: [malcom],
      options: { users: { [malcom]: { firstName: 'River', lastName: 'Tam', email: 'river@serenity.test', sendWelcome: true } } },
    };
    const recyclePreview = await api.post('/admin/operations', { ...recycle, dryRun: true });
    expect(recyclePreview.body.users[0]).toMatchObject({ status: 'setup_required', newStatus: 'password_required', newPerson: { firstName: 'River', lastName: 'Tam' } });
    const recycled = await api.post('/admin/operations', { ...recycle, confirm: recyclePreview.body.confirmToken });
    expect(recycled.status).toBe(202);
    await until(recycled.body.operationId, (b) => b.state === 'completed' && b.counts.succeeded === 1);
    const river = (await api.get(`/admin/users/${malcom}`)).body;
    expect(river).toMatchObject({ status: 'password_required', firstName: 'River', lastName: 'Tam', email: 'river@serenity.test', extension: '1009' });

    // ---- the welcome email, from the SMTP sink ---------------------------------------------------
    const started = Date.now();
    while (!sink.received.some((m) => m.to.includes('river@serenity.test'))) {
      if (Date.now() - started > 20_000) throw new Error('no welcome email for river@serenity.test');
      await new Promise((r) => setTimeout(r, 50));
    }
    const mail = parseMail(sink.received.find((m) => m.to.includes('river@serenity.test'))!.raw);
    expect(mail.text).toContain('Extension: 1009');
    expect(mail.text).toContain('168 hours');
    const token = LINK.exec(mail.text)?.[1];
    expect(token).toBeDefined();
    // The link points at PUBLIC_URL; this test's server listens elsewhere.
    const pageUrl = `${t.runtime.url}/set-password?token=${token}`;

    // ---- set the password from the link (in Chromium when installed) -----------------------------
    if (chromiumInstalled) {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error') problems.push(message.text());
        });
        page.on('pageerror', (error) => problems.push(error.message));
        const response = await page.goto(pageUrl);
        expect(response?.status()).toBe(200);
        await page.fill('#password', NEW_PASSWORD);
        await page.fill('#confirm', NEW_PASSWORD);
        await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
        expect(await page.textContent('h1')).toBe('Your password is set');
        expect(problems).toEqual([]); // no CSP violation, no script error
      } finally {
        await browser.close();
      }
    } else {
      console.warn(`seed walk: setting the password by a plain form post, ${NO_CHROMIUM}`);
      const form = new URLSearchParams({ token: token!, password: NEW_PASSWORD, confirm: NEW_PASSWORD });
      const res = await fetch(`${t.runtime.url}/client/password`, { method: 'POST', body: form });
      expect(res.status).toBe(200);
    }
    expect((await api.get(`/admin/users/${malcom}`)).body.status).toBe('active');

    // ---- sign in as the new person, with the new email; the link is spent -------------------------
    const login = await apiClient(t).post('/client/login', { userName: 'river@serenity.test', password: NEW_PASSWORD, device: { id: 'rivers-phone', kind: 'mobile_app' } });
    expect(login.status).toBe(200);
    expect(login.body.user).toMatchObject({ id: malcom, firstName: 'River', status: 'active' });
    const checkin = await apiClient(t, login.body.token).post('/client/checkin', { pendingItems: 0 });
    expect(checkin.body).toEqual({ status: 'active', clearHistory: false, pendingItems: 0, stored: 0 });
    expect((await apiClient(t).get(`/set-password?token=${token}`)).status).toBe(410);
    // The other two seats wait for their next person.
    for (const id of [kaylee, inara]) expect((await api.get(`/admin/users/${id}`)).body.status).toBe('setup_required');

    // ---- the audit trail tells the story, with the operator's token as actor ----------------------
    const trail = (await api.get(`/admin/audit?userId=${malcom}&limit=200`)).body.entries.map((e: { action: string }) => e.action);
    expect(trail).toEqual(expect.arrayContaining(['user.create', 'user.password_set', 'user.updated', 'user.reset', 'user.recycle', 'user.send_welcome', 'user.sign_in_succeeded', 'user.checkin']));
  });
});
