import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuePasswordLink } from '../../src/store/password-links.ts';
import { hashPassword } from '../../src/store/passwords.ts';
import { insertApiToken } from '../../src/store/tokens.ts';
import { createUserWithLifecycle } from '../../src/store/user-lifecycle.ts';
import { chromiumInstalled, launchChromium, NO_CHROMIUM } from '../support/browser.ts';
import { ROOT } from '../support/cli.ts';
import { useTestRuntime } from '../support/runtime.ts';

const built = existsSync(path.join(ROOT, 'web/dist/index.html'));
if (!chromiumInstalled) console.warn(`console.browser: skipped, ${NO_CHROMIUM}`);
if (!built) console.warn('console.browser: skipped, the console is not built (npm run build:console)');

/** Screenshots of each screen the test passes through, for people to look at. */
const ARTIFACTS = path.join(ROOT, 'test-artifacts/console');

/**
 * The console as an operator meets it, in a real headless Chromium under its strict CSP: the
 * first operator sets a password from the CLI's link, signs in, and runs the bulk reset of the User List.
 */
describe.skipIf(!chromiumInstalled || !built)('operator console in Chromium', () => {
  const t = useTestRuntime({
    label: 'console_browser',
    env: { DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'turnover-console-')) },
  });
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
    // A context of its own: axe needs one it can open helper pages in.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    // Fail at the step that is stuck, with its locator, well before the test's own timeout.
    page.setDefaultTimeout(10_000);
    // A CSP violation or a script error shows up here; 4xx answers the app handles do not count.
    page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function seriousViolations(): Promise<string[]> {
    const { violations } = await new AxeBuilder({ page }).analyze();
    return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
  }

  it('sets the first operator password from the link, signs in, and shows the user list', async () => {
    const em = t.runtime.orm.em.fork();
    const link = await em.transactional(async (tx) => {
      const created = await createUserWithLifecycle(tx, {
        tenantId: t.tenantId,
        source: 'admin',
        actor: 'cli',
        sendWelcome: false,
        fields: { userName: 'river.tam', email: 'river@example.org', role: 'office_manager', firstName: 'River', lastName: 'Tam' },
      });
      if (!created.ok) throw new Error(created.refusal.message);
      return issuePasswordLink(tx, { tenantId: t.tenantId, userId: created.userId, purpose: 'welcome', publicUrl: t.runtime.url! });
    });
    await page.goto(link.url);
    await page.fill('#password', 'two by two, hands of blue');
    await page.fill('#confirm', 'two by two, hands of blue');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);

    for (const n of [1, 2, 3]) {
      await t.createUser({ userName: `seat.${n}@example.org`, firstName: 'Seat', lastName: `Holder ${n}`, extension: `10${n}`, status: 'active' });
    }
    await page.goto(`${t.runtime.url}/console/`);
    await page.getByLabel('User name').fill('river.tam');
    await page.locator('input[type=password]').fill('wrong password entirely');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('The user name or password is wrong.').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, '01-sign-in.png') });
    expect(await seriousViolations()).toEqual([]);

    await page.locator('input[type=password]').fill('two by two, hands of blue');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    expect(page.url()).toBe(`${t.runtime.url}/console/users`);
    await page.getByRole('cell', { name: 'Seat Holder 3' }).waitFor();
    expect(await page.getByRole('button', { name: /Bulk Action/ }).isDisabled()).toBe(true);
    await page.getByLabel('Search').fill('holder 2');
    await page.getByRole('cell', { name: 'Seat Holder 1' }).waitFor({ state: 'detached' });
    expect(await page.getByRole('cell', { name: 'Seat Holder 2' }).count()).toBe(1);
    await page.getByLabel('Search').fill('');
    await page.getByRole('cell', { name: 'Seat Holder 1' }).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, '02-users.png') });
    expect(await seriousViolations()).toEqual([]);
  }, 60_000);

  it('bulk-resets three users with two optional items: options, dry run, confirmation, live progress', async () => {
    for (const n of [1, 2, 3]) await page.getByLabel(`Select seat.${n}@example.org`).check();
    await page.getByRole('button', { name: 'Bulk Action (3)' }).click();
    const dialog = page.getByRole('dialog');
    // The portal's Bulk User Actions: its radio list of actions, each with its one line.
    await dialog.getByText('Selected 3 users').waitFor();
    await dialog.getByText('Seat Holder 1 (101)').waitFor();
    await dialog.getByRole('radio', { name: 'Send Welcome Email' }).waitFor();
    await dialog.getByText('Sends new users an email with link to set up password and voicemail PIN').waitFor();
    await dialog.getByText('Clears password, forcing user to change it before they can access their account').waitFor();
    // Under Force Password Reset, and only for it.
    expect(await dialog.getByLabel('Automatically send recovery email').isDisabled()).toBe(true);
    await dialog.getByRole('radio', { name: 'Force Password Reset' }).check();
    expect(await dialog.getByLabel('Automatically send recovery email').isDisabled()).toBe(false);
    await dialog.getByRole('button', { name: 'Complete Action' }).waitFor();
    await dialog.getByRole('radio', { name: 'Reset Users' }).check();
    await dialog.getByRole('button', { name: 'Begin Reset' }).click();
    await dialog.getByText('Reset 3 users').waitFor();
    await dialog.getByText('The selected users will have their name, email, password, voicemail PIN, soft phones removed by default.').waitFor();
    // Select All Options toggles every option, and back.
    await dialog.getByRole('button', { name: 'Select All Options' }).click();
    expect(await dialog.getByLabel('Delete Custom Contacts').isChecked()).toBe(true);
    await dialog.getByRole('button', { name: 'Select All Options' }).click();
    expect(await dialog.getByLabel('Delete Custom Contacts').isChecked()).toBe(false);
    await dialog.getByLabel('Delete Voicemail Messages').check();
    await dialog.getByLabel('Unassign Phone Number').check();
    await page.screenshot({ path: path.join(ARTIFACTS, '03-reset-options.png') });
    expect(await seriousViolations()).toEqual([]);
    await dialog.getByRole('button', { name: 'Next', exact: true }).click();
    await dialog.getByText('The following actions will take place').waitFor();
    await dialog.getByText('Are you sure you want to continue?').waitFor();
    // Statuses by their labels, not their codes.
    const preview = dialog.getByRole('table', { name: 'What will happen to each user' });
    await preview.getByRole('cell', { name: 'Active', exact: true }).first().waitFor();
    await preview.getByRole('cell', { name: 'Setup Required', exact: true }).first().waitFor();
    expect(await preview.getByText('setup_required').count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS, '04-confirm.png') });
    await dialog.getByRole('button', { name: 'Reset', exact: true }).click();
    await dialog.getByText('Succeeded: 3').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, '05-progress.png') });
    await dialog.getByRole('button', { name: 'Close', exact: true }).click();

    const rows = await t.sql<{ status: string; first_name: string | null; extension: string }>(
      `select status, first_name, extension from users where user_name like 'seat.%' order by extension`,
    );
    expect(rows).toEqual([
      { status: 'setup_required', first_name: null, extension: '101' },
      { status: 'setup_required', first_name: null, extension: '102' },
      { status: 'setup_required', first_name: null, extension: '103' },
    ]);
    const [audit] = await t.sql<{ actor: string }>(`select distinct actor from tasks where type = 'reset'`);
    expect(audit?.actor).toMatch(/^operator:/);
    await page.getByRole('cell', { name: '(no name)' }).first().waitFor();
    expect(problems).toEqual([]);
  }, 60_000);

  it('disables every user inactive for 90 days with "select all N matching": the dry run counts all 60 and shows a sample', async () => {
    // 60 crew idle for 120 days (more than a page of 50) and 2 who signed in yesterday.
    await t.sql(
      `insert into users (id, tenant_id, user_name, first_name, last_name, email, status, password_hash, last_signin_at, status_changed_at, created_at)
       select gen_random_uuid(), ?, 'crew.' || g || '@example.org', 'Crew', 'Member ' || g, 'crew.' || g || '@example.org', 'active', 'x',
              now() - make_interval(days => case when g > 60 then 1 else 120 end), now() - make_interval(days => case when g > 60 then 1 else 120 end), clock_timestamp()
         from generate_series(1, 62) g`,
      [t.tenantId],
    );
    await page.reload();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.getByRole('combobox', { name: 'Inactive for' }).click();
    await page.getByRole('option', { name: '90 days or more' }).click();
    await page.getByRole('cell', { name: 'Crew Member 50', exact: true }).waitFor();
    expect(await page.getByRole('cell', { name: 'River Tam' }).count()).toBe(0);
    await page.getByLabel('Select all users on this page').check();
    await page.getByText('All 50 users on this page are selected.').waitFor();
    await page.getByRole('button', { name: 'Select all 60 matching' }).click();
    await page.getByText('All 60 users matching the filters are selected.').waitFor();
    expect(await seriousViolations()).toEqual([]);
    await page.getByRole('button', { name: 'Bulk Action (60)' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Selected 60 users').waitFor();
    await dialog.getByText("All 60 users matching the list's filters.").waitFor();
    await dialog.getByRole('radio', { name: 'Disable' }).check();
    await dialog.getByRole('button', { name: 'Complete Action' }).click();
    await dialog.getByText('Showing the first 50 of 60 users').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, '05b-select-all-matching.png') });
    expect(await seriousViolations()).toEqual([]);
    // One more user goes idle after the preview: the confirmed run leaves them alone.
    await t.sql(`update users set last_signin_at = now() - interval '200 days', status_changed_at = now() - interval '200 days' where user_name = 'crew.61@example.org'`);
    await dialog.getByRole('button', { name: 'Disable', exact: true }).click();
    await dialog.getByText('Succeeded: 60').waitFor({ timeout: 30_000 });
    await dialog.getByRole('button', { name: 'Close', exact: true }).click();
    const rows = await t.sql<{ status: string; n: string }>(`select status, count(*) as n from users where user_name like 'crew.%' group by status order by status`);
    expect(rows).toEqual([
      { status: 'active', n: '2' },
      { status: 'disabled', n: '60' },
    ]);
    await page.getByRole('combobox', { name: 'Inactive for' }).click();
    await page.getByRole('option', { name: '90 days or more' }).click();
    expect(problems).toEqual([]);
  }, 60_000);

  it('adds a user by hand and imports a CSV with one bad row, with per-row results', async () => {
    await page.getByRole('link', { name: 'Add users' }).click();
    await page.getByRole('heading', { name: 'Add users' }).waitFor();
    await page.getByLabel('First Name, row 1', { exact: true }).fill('Kaylee');
    await page.getByLabel('Last Name, row 1', { exact: true }).fill('Frye');
    await page.getByLabel('Email, row 1', { exact: true }).fill('kaylee@example.org');
    await page.getByLabel('Extension, row 1', { exact: true }).fill('301');
    await page.getByRole('button', { name: 'Add a row' }).click();
    await page.getByLabel('First Name, row 2', { exact: true }).fill('Jayne');
    await page.getByLabel('Last Name, row 2', { exact: true }).fill('Cobb');
    await page.getByLabel('Email, row 2', { exact: true }).fill('not-an-email');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByText('1 created, 1 not created').waitFor();
    await page.getByText('created kaylee@example.org').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, '06-add-users.png') });
    expect(await seriousViolations()).toEqual([]);
    const [kaylee] = await t.sql<{ status: string; extension: string }>(`select status, extension from users where email = 'kaylee@example.org'`);
    expect(kaylee).toEqual({ status: 'password_required', extension: '301' });
    expect(await t.sql(`select 1 from users where email = 'not-an-email'`)).toEqual([]);
  }, 60_000);

  it('shows the work inbox and the audit trail; an office manager has no Settings', async () => {
    await page.getByRole('link', { name: 'Work' }).click();
    await page.getByRole('heading', { name: 'Work' }).waitFor();
    await page.getByText('Nothing needs a person right now.').waitFor();
    // The bulk reset of the test before, with its final counts.
    await page.getByRole('table', { name: 'Recent operations' }).getByText('completed: 3 succeeded, 0 failed').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, '07-work.png') });
    expect(await seriousViolations()).toEqual([]);
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: 'Audit' }).waitFor();
    await page.getByRole('cell', { name: 'user.reset' }).first().waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, '08-audit.png') });
    expect(await seriousViolations()).toEqual([]);
    expect(await page.getByRole('link', { name: 'Settings' }).count()).toBe(0);
    expect(problems).toEqual([]);
  }, 60_000);
});

/**
 * "Reset App Access" in its three cases: the phone online with nothing pending; the
 * phone offline (skip pending data, with its data-loss confirmation); the phone uploading
 * ("Retry Now" once it has). Each ends with the new person's one-time password and "Copy".
 */
describe.skipIf(!chromiumInstalled || !built)('Reset App Access in Chromium', () => {
  const t = useTestRuntime({
    label: 'console_app_reset',
    env: { DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'turnover-console-')) },
  });
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const admin = await t.createUser({ userName: 'inara', role: 'admin', status: 'active', passwordHash: await hashPassword('companion of the guild') });
    expect(admin.id).toBeTruthy();
    await page.goto(`${t.runtime.url}/console/`);
    await page.getByLabel('User name').fill('inara');
    await page.locator('input[type=password]').fill('companion of the guild');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function leaver(n: number, device: { pending: number; checkedInSecondsAgo: number }) {
    const user = await t.createUser({ userName: `leaver.${n}`, firstName: 'Old', lastName: `Hand ${n}`, extension: `20${n}`, status: 'active', passwordHash: 'x' });
    await t.sql(
      `insert into devices (id, tenant_id, user_id, kind, client_id, pending_items, last_checkin_at)
       values (gen_random_uuid(), ?, ?, 'mobile_app', 'phone', ?, now() - make_interval(secs => ?))`,
      [t.tenantId, user.id, device.pending, device.checkedInSecondsAgo],
    );
    return user;
  }

  /** Opens the user, puts the new person in the details ("Submit Form") and starts the reset. */
  async function startReset(userId: string, n: number) {
    await page.goto(`${t.runtime.url}/console/users/${userId}`);
    // The device by its kind, as the user calls it.
    await page.getByRole('table', { name: 'Devices' }).getByRole('cell', { name: 'Mobile app', exact: true }).waitFor();
    await page.getByLabel('First Name').fill('New');
    await page.getByLabel('Last Name').fill(`Starter ${n}`);
    await page.getByLabel('Email').fill(`new.${n}@example.org`);
    await page.getByRole('button', { name: 'Submit Form' }).click();
    await page.getByText('The details are saved.').waitFor();
    await page.getByRole('button', { name: 'Reset App Access' }).click();
    const dialog = page.getByRole('dialog', { name: 'Reset App Access' });
    await dialog.getByRole('button', { name: 'Reset', exact: true }).click();
    return dialog;
  }

  async function expectHandedOver(dialog: ReturnType<Page['getByRole']>, userId: string, n: number) {
    await dialog.getByText('The account has been reset successfully.').waitFor({ timeout: 30_000 });
    const shown = (await dialog.getByTestId('new-password').textContent())!.replace('Password: ', '').trim();
    expect(shown).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(await dialog.getByRole('button', { name: 'Copy' }).count()).toBe(1);
    const user = await t.getUser(userId);
    expect(user).toMatchObject({ status: 'active', firstName: 'New', lastName: `Starter ${n}`, email: `new.${n}@example.org`, extension: `20${n}` });
    expect(user.passwordHash).not.toContain(shown);
    await dialog.getByRole('button', { name: 'OK' }).click();
    expect(pageErrors).toEqual([]);
  }

  it('shows an admin the settings with each choice explained, and creates a token shown once', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    await page.getByText('must be made active by an administrator').waitFor();
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText('New token (shown once)').waitFor();
    expect(await page.getByText(/^tov_scim_[A-Za-z0-9_-]{43}$/).count()).toBe(1);
    await page.screenshot({ path: path.join(ARTIFACTS, '09-settings.png'), fullPage: true });
    const { violations } = await new AxeBuilder({ page }).analyze();
    expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
  }, 60_000);

  it('shows held IdP deactivations in a banner and releases them on approval', async () => {
    await t.sql(`update tenants set policy = policy || ?::jsonb where id = ?`, [
      JSON.stringify({ deprovisionGuard: { enabled: true, maxCount: 1, maxPercent: 100, windowMinutes: 60 } }),
      t.tenantId,
    ]);
    const em = t.runtime.orm.em.fork();
    const { token } = insertApiToken(em, { tenantId: t.tenantId, kind: 'scim', actor: 'test' });
    await em.flush();
    const burst: Array<Awaited<ReturnType<typeof t.createUser>>> = [];
    for (let n = 1; n <= 3; n++) burst.push(await t.createUser({ userName: `burst.${n}`, status: 'active', passwordHash: 'x' }));
    for (const user of burst) {
      const res = await fetch(`${t.runtime.url}/scim/v2/Users/${user.id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active: false } }] }),
      });
      expect(res.status).toBe(200);
    }
    const statuses = async () => Promise.all(burst.map(async (u) => (await t.getUser(u.id)).status));
    expect(await statuses()).toEqual(['disabled', 'active', 'active']);
    await page.goto(`${t.runtime.url}/console/users`);
    await page.getByText('Identity provider changes held for approval').waitFor();
    await page.getByRole('link', { name: 'Review them in Work' }).click();
    await page.getByRole('heading', { name: 'Work' }).waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, '10-held.png') });
    await page.getByRole('button', { name: 'Approve all held' }).click();
    for (let i = 0; i < 100 && (await statuses()).some((s) => s !== 'disabled'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await statuses()).toEqual(['disabled', 'disabled', 'disabled']);
    await t.sql(`update tenants set policy = policy - 'deprovisionGuard' where id = ?`, [t.tenantId]);
  }, 60_000);

  it('phone online with nothing pending: resets at once and shows the new password with Copy', async () => {
    const user = await leaver(1, { pending: 0, checkedInSecondsAgo: 5 });
    const dialog = await startReset(user.id, 1);
    await expectHandedOver(dialog, user.id, 1);
  }, 60_000);

  it('phone offline: Unable to Retrieve Results, then Skip Pending Data after confirming the loss', async () => {
    const user = await leaver(2, { pending: 4, checkedInSecondsAgo: 3600 });
    const dialog = await startReset(user.id, 2);
    await dialog.getByText('Unable to Retrieve Results').waitFor({ timeout: 20_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, '11-unable-to-retrieve.png') });
    await dialog.getByRole('button', { name: 'Skip Pending Data' }).click();
    const confirm = page.getByRole('dialog', { name: 'Skip pending data?' });
    await confirm.getByText('will be lost for good').waitFor();
    await confirm.getByRole('button', { name: 'Reset', exact: true }).click();
    await expectHandedOver(dialog, user.id, 2);
    const [skipped] = await t.sql<{ n: string }>(`select count(*) as n from audit_entries where user_id = ? and action = 'task.skip_pending_data'`, [user.id]);
    expect(skipped?.n).toBe('1');
  }, 60_000);

  it('phone still uploading: waits for the device, then Retry Now once it has uploaded', async () => {
    const user = await leaver(3, { pending: 3, checkedInSecondsAgo: 5 });
    const dialog = await startReset(user.id, 3);
    await dialog.getByText('Waiting for the device').waitFor({ timeout: 20_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, '12-waiting-for-device.png') });
    // The app uploads its items and reports nothing pending (what POST /client/checkin records).
    await t.sql(`update devices set pending_items = 0, last_checkin_at = now() where user_id = ?`, [user.id]);
    await dialog.getByRole('button', { name: 'Retry Now' }).click();
    await expectHandedOver(dialog, user.id, 3);
  }, 60_000);
});
