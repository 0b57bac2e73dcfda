import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/store/passwords.ts';
import { chromiumInstalled, launchChromium } from '../support/browser.ts';
import { ROOT } from '../support/cli.ts';
import { parseMail } from '../support/mime.ts';
import { useTestRuntime } from '../support/runtime.ts';
import { startSmtpSink } from '../support/smtp-sink.ts';

const built = existsSync(path.join(ROOT, 'web/dist/index.html'));
const ARTIFACTS = path.join(ROOT, 'test-artifacts/console');
const sink = await startSmtpSink();
afterAll(() => sink.close());

/**
 * The operator flows through the console in Chromium: a bulk reset with "Recycle Users" into
 * the recycle form, the welcome email from a real SMTP sink opening the set-password page; then a
 * role change, a ban and unban, and a Denied user unlocked with a new password.
 */
describe.skipIf(!chromiumInstalled || !built)('console flows in Chromium', () => {
  const t = useTestRuntime({
    label: 'console_flows',
    env: { SMTP_URL: sink.url, DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'turnover-console-flows-')) },
  });
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await t.createUser({ userName: 'zoe', role: 'admin', status: 'active', passwordHash: await hashPassword('second in command, always') });
    await page.goto(`${t.runtime.url}/console/`);
    await page.getByLabel('User name').fill('zoe');
    await page.locator('input[type=password]').fill('second in command, always');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('bulk-resets two seats with Recycle Users, hands them to new people, and the welcome link sets a password', async () => {
    for (const n of [1, 2]) await t.createUser({ userName: `seat${n}`, firstName: 'Leaving', lastName: `Person ${n}`, extension: `40${n}`, status: 'active' });
    await page.reload();
    for (const n of [1, 2]) await page.getByLabel(`Select seat${n}`, { exact: true }).check();
    await page.getByRole('button', { name: 'Bulk Action (2)' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Begin Reset' }).click();
    await dialog.getByLabel('Recycle Users').check();
    await dialog.getByRole('button', { name: 'Next', exact: true }).click();
    await dialog.getByRole('button', { name: 'Reset', exact: true }).click();
    await dialog.getByText('Succeeded: 2').waitFor({ timeout: 30_000 });
    await dialog.getByRole('button', { name: 'Next', exact: true }).click();
    await page.getByRole('dialog', { name: 'Recycle Users' }).waitFor();
    await dialog.getByLabel('First Name for 401').fill('Simon');
    await dialog.getByLabel('Last Name for 401').fill('Tam');
    await dialog.getByLabel('Email for 401').fill('simon@serenity.test');
    await dialog.getByLabel('First Name for 402').fill('Shepherd');
    await dialog.getByLabel('Last Name for 402').fill('Book');
    await page.screenshot({ path: path.join(ARTIFACTS, '13-recycle.png') });
    expect(await seriousViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('The following actions will take place').waitFor();
    // The new people beside the seats they take.
    const preview = dialog.getByRole('table', { name: 'What will happen to each user' });
    await preview.getByRole('cell', { name: 'Simon Tam · simon@serenity.test' }).waitFor();
    await preview.getByRole('cell', { name: 'Shepherd Book', exact: true }).waitFor();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('Succeeded: 2').waitFor({ timeout: 30_000 });
    await dialog.getByRole('button', { name: 'Close', exact: true }).click();

    const seats = await t.sql<{ extension: string; status: string; first_name: string; email: string | null }>(
      `select extension, status, first_name, email from users where extension in ('401', '402') order by extension`,
    );
    expect(seats).toEqual([
      { extension: '401', status: 'password_required', first_name: 'Simon', email: 'simon@serenity.test' },
      { extension: '402', status: 'password_required', first_name: 'Shepherd', email: null },
    ]);
    const started = Date.now();
    while (!sink.received.some((m) => m.to.includes('simon@serenity.test'))) {
      if (Date.now() - started > 30_000) throw new Error('no welcome email for simon@serenity.test');
      await new Promise((r) => setTimeout(r, 100));
    }
    const mail = parseMail(sink.received.find((m) => m.to.includes('simon@serenity.test'))!.raw);
    expect(mail.text).toContain('Extension: 401');
    const token = /set-password\?token=([A-Za-z0-9_-]{43})/.exec(mail.text)?.[1];
    const linkPage = await page.context().newPage();
    await linkPage.goto(`${t.runtime.url}/set-password?token=${token}`);
    await linkPage.fill('#password', 'mind the gap, river');
    await linkPage.fill('#confirm', 'mind the gap, river');
    await Promise.all([linkPage.waitForNavigation(), linkPage.click('button[type=submit]')]);
    expect(await linkPage.textContent('h1')).toBe('Your password is set');
    await linkPage.close();
    const login = await fetch(`${t.runtime.url}/client/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userName: 'simon@serenity.test', password: 'mind the gap, river' }),
    });
    expect(login.status).toBe(200);
  }, 90_000);

  it('changes a role, bans and unbans, and unlocks a Denied user with a new password', async () => {
    const user = await t.createUser({ userName: 'jayne', firstName: 'Jayne', lastName: 'Cobb', status: 'active', passwordHash: await hashPassword('vera is my gun') });
    await page.goto(`${t.runtime.url}/console/users/${user.id}`);
    await page.getByRole('heading', { name: 'Jayne Cobb' }).waitFor();
    await page.getByRole('combobox', { name: 'Role' }).click();
    await page.getByRole('option', { name: 'Call Center Agent' }).click();
    await page.getByRole('button', { name: 'Submit Form' }).click();
    await page.getByText('The details are saved.').waitFor();
    expect((await t.getUser(user.id)).role).toBe('call_center_agent');

    await page.getByRole('button', { name: 'Ban', exact: true }).click();
    await page.getByRole('button', { name: 'Unban', exact: true }).waitFor({ timeout: 20_000 });
    expect((await t.getUser(user.id)).status).toBe('banned');
    await page.getByRole('button', { name: 'Unban', exact: true }).click();
    await page.getByRole('button', { name: 'Ban', exact: true }).waitFor({ timeout: 20_000 });
    expect((await t.getUser(user.id)).status).toBe('active');

    await t.sql(`update users set status = 'denied', failed_login_count = 10 where id = ?`, [user.id]);
    await page.reload();
    await page.getByRole('button', { name: 'Unlock' }).click();
    const dialog = page.getByRole('dialog', { name: 'Unlock user' });
    await dialog.getByLabel('Set a new password').check();
    await dialog.getByLabel('New password', { exact: true }).fill('shiny new lock combination 42');
    await dialog.getByRole('button', { name: 'Unlock' }).click();
    await dialog.getByText('can sign in again').waitFor();
    const unlocked = await t.getUser(user.id);
    expect(unlocked).toMatchObject({ status: 'active', failedLoginCount: 0 });
    const login = await fetch(`${t.runtime.url}/client/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userName: 'jayne', password: 'shiny new lock combination 42' }),
    });
    expect(login.status).toBe(200);
    await page.screenshot({ path: path.join(ARTIFACTS, '14-user.png'), fullPage: true });
    await dialog.getByRole('button', { name: 'Close' }).first().click();
    expect(await seriousViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('works by keyboard alone: select rows, open Bulk Action, move through it, close with Escape', async () => {
    await page.goto(`${t.runtime.url}/console/users`);
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.getByLabel('Search').focus();
    await page.keyboard.type('jayne');
    await page.getByLabel('Select jayne', { exact: true }).focus();
    await page.keyboard.press('Space');
    expect(await page.getByLabel('Select jayne', { exact: true }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Bulk Action (1)' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Bulk User Actions' });
    await dialog.waitFor();
    // Focus is trapped inside the modal: Tab moves among its controls only.
    for (let i = 0; i < 5; i++) await page.keyboard.press('Tab');
    expect(await dialog.evaluate((el) => el.contains(document.activeElement))).toBe(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(pageErrors).toEqual([]);
  }, 60_000);
});

async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
}
