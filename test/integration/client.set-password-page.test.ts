import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuePasswordLink } from '../../src/store/password-links.ts';
import { chromiumInstalled, launchChromium, NO_CHROMIUM } from '../support/browser.ts';
import { ROOT } from '../support/cli.ts';
import { useTestRuntime } from '../support/runtime.ts';

const ARTIFACTS = path.join(ROOT, 'test-artifacts/set-password');
mkdirSync(ARTIFACTS, { recursive: true });

if (!chromiumInstalled) console.warn(`client.set-password-page: skipped, ${NO_CHROMIUM}`);

/** The set-password page as a person meets it: in a real headless Chromium, under its strict CSP. */
describe.skipIf(!chromiumInstalled)('set-password page in Chromium', () => {
  const t = useTestRuntime({
    label: 'client_browser',
    roles: { api: true, relay: false, workers: false },
    env: { DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'turnover-browser-')) },
  });
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function openLink(userId: string) {
    const em = t.runtime.orm.em.fork();
    const issued = await issuePasswordLink(em, { tenantId: t.tenantId, userId, purpose: 'welcome', publicUrl: t.runtime.url! });
    const page = await browser.newPage();
    const problems: string[] = [];
    // 4xx answers log "Failed to load resource"; anything else (a CSP violation, a script error) is a problem.
    page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    return { page, problems, issued, url: `${t.runtime.url}/set-password?token=${issued.token}` };
  }

  it('shows a too-weak or mistyped password on the form again, then sets a good one; the link is then spent', async () => {
    const user = await t.createUser({ userName: 'shepherd.book', status: 'password_required' });
    const { page, problems, url } = await openLink(user.id);
    expect((await page.goto(url))?.status()).toBe(200);
    expect(await page.textContent('h1')).toBe('Set up your account');
    expect(await page.textContent('main p')).toContain('shepherd.book');

    await page.fill('#password', 'too short');
    await page.fill('#confirm', 'too short');
    // The browser's own minlength check keeps this one from being sent at all.
    expect(await page.$eval('#password', (el) => (el as HTMLInputElement).validity.valid)).toBe(false);

    await page.fill('#password', 'a long enough password');
    await page.fill('#confirm', 'a different long password');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(await page.textContent('[role=alert]')).toContain('not the same');
    // An error comes back on the same page: its heading stays.
    expect(await page.textContent('h1')).toBe('Set up your account');

    await page.fill('#password', 'shepherd.book is my name');
    await page.fill('#confirm', 'shepherd.book is my name');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(await page.textContent('[role=alert]')).toContain('must not contain your user name');
    expect(await page.textContent('h1')).toBe('Set up your account');

    await page.fill('#password', 'a long enough password');
    await page.fill('#confirm', 'a long enough password');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(await page.textContent('h1')).toBe('Your password is set');
    // Not an operator: the console is not for them.
    expect(await page.textContent('main p')).toBe('You can now sign in as shepherd.book on your phone or desktop app.');
    expect(await page.$('a[href="/console/"]')).toBeNull();
    expect((await t.getUser(user.id)).status).toBe('active');

    const again = await page.goto(url);
    expect(again?.status()).toBe(410);
    expect(await page.textContent('h1')).toBe('This link has already been used');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows an expired link as expired, with a 410', async () => {
    const user = await t.createUser({ status: 'password_required' });
    const { page, issued, url } = await openLink(user.id);
    await t.sql(`update password_links set expires_at = now() - interval '1 second' where id = ?`, [issued.link.id]);
    const response = await page.goto(url);
    expect(response?.status()).toBe(410);
    expect(await page.textContent('h1')).toBe('This link has expired');
    expect(await page.$('form')).toBeNull();
    await page.close();
  });

  for (const scheme of ['light', 'dark'] as const) {
    it(`looks like the console (${scheme}, 390 px), passes axe, and sends an operator on to the console`, async () => {
      const operator = await t.createUser({ userName: `zoe.${scheme}`, role: 'office_manager', status: 'password_required' });
      const em = t.runtime.orm.em.fork();
      const issued = await issuePasswordLink(em, { tenantId: t.tenantId, userId: operator.id, purpose: 'welcome', publicUrl: t.runtime.url! });
      await em.flush();
      const context = await browser.newContext({ viewport: { width: 390, height: 800 }, colorScheme: scheme });
      const page = await context.newPage();
      await page.goto(`${t.runtime.url}/set-password?token=${issued.token}`);
      const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      expect(background).toBe(scheme === 'dark' ? 'rgb(36, 36, 36)' : 'rgb(248, 249, 250)');
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      await axeClean(page);
      await page.screenshot({ path: path.join(ARTIFACTS, `set-password-${scheme}.png`), fullPage: true });
      await page.fill('#password', 'shiny and long enough');
      await page.fill('#confirm', 'shiny and long enough');
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
      expect(await page.textContent('h1')).toBe('Your password is set');
      await axeClean(page);
      await page.screenshot({ path: path.join(ARTIFACTS, `set-password-done-${scheme}.png`), fullPage: true });
      await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Sign in to the console' }).click()]);
      expect(new URL(page.url()).pathname).toMatch(/^\/console\//);
      await context.close();
    });
  }
});

async function axeClean(page: Page): Promise<void> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id)).toEqual([]);
}
