import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardTrip } from '../../src/lifecycle/deprovision-guard.ts';
import { insertAuditEntries } from '../../src/store/audit.ts';
import { hashPassword } from '../../src/store/passwords.ts';
import { holdTask } from '../../src/store/tasks.ts';
import { insertApiToken } from '../../src/store/tokens.ts';
import { chromiumInstalled, launchChromium, NO_CHROMIUM } from '../support/browser.ts';
import { ROOT } from '../support/cli.ts';
import { useTestRuntime } from '../support/runtime.ts';
import { existsSync } from 'node:fs';

const built = existsSync(path.join(ROOT, 'web/dist/index.html'));
if (!chromiumInstalled) console.warn(`console.screens: skipped, ${NO_CHROMIUM}`);
const ARTIFACTS = path.join(ROOT, 'test-artifacts/console-screens');

/**
 * Every screen at a desktop width (1366 px) and a phone's (390 px), in light and dark: readable
 * (axe: no serious or critical violation), never wider than the window, the navigation folded
 * behind a button on the phone, and people named by name in Work and Audit.
 */
describe.skipIf(!chromiumInstalled || !built)('console screens at 1366 and 390 px, light and dark', () => {
  const t = useTestRuntime({ label: 'console_screens', env: { DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'turnover-console-')) } });
  let browser: Browser;
  let userId: string;
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
    const admin = await t.createUser({ userName: 'inara', firstName: 'Inara', lastName: 'Serra', role: 'admin', status: 'active', passwordHash: await hashPassword('companion of the guild') });
    const held = await t.createUser({ userName: 'jayne.cobb', firstName: 'Jayne', lastName: 'Cobb', department: 'Security', status: 'active' });
    userId = held.id;
    // A refused SCIM create, so the provisioning log has a row to show.
    const em = t.runtime.orm.em.fork();
    const { token } = insertApiToken(em, { tenantId: t.tenantId, kind: 'scim', actor: 'test', label: 'Okta' });
    await em.flush();
    const refused = await fetch(`${t.runtime.url}/scim/v2/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'jayne.cobb' }),
    });
    expect(refused.status).toBe(409);
    await em.transactional(async (tx) => {
      await holdTask(tx, {
        tenantId: t.tenantId,
        userId: held.id,
        type: 'deprovision',
        payload: { source: 'scim', idpEvent: 'scim_deactivate' },
        actor: 'system',
        dedupeKey: `idp-held:${held.id}`,
        reason: 'deprovision_guard',
        result: { guard: guardTrip({ enabled: true, maxCount: 25, maxPercent: 10, windowMinutes: 60 }, 25, 1000) },
      });
      await insertAuditEntries(tx, [{ tenantId: t.tenantId, actor: `operator:${admin.id}`, action: 'user.disable', userId: held.id, details: { from: 'active', to: 'disabled', reason: 'left the company' } }]);
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function signedIn(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${t.runtime.url}/console/`);
    await page.getByLabel('User name').fill('inara');
    await page.locator('input[type=password]').fill('companion of the guild');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    return page;
  }

  async function check(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
    const { violations } = await new AxeBuilder({ page }).analyze();
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
    expect(serious, name).toEqual([]);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${name}: wider than the window`).toBeLessThanOrEqual(0);
  }

  for (const width of [1366, 390]) {
    for (const scheme of ['light', 'dark'] as const) {
      it(`${width} px, ${scheme}`, async () => {
        const context = await browser.newContext({ viewport: { width, height: 900 }, colorScheme: scheme });
        const page = await signedIn(context);
        const tag = `${width}-${scheme}`;
        // The system's setting decides until the operator switches.
        expect(await page.locator('html').getAttribute('data-mantine-color-scheme')).toBe(scheme);
        const go = async (link: string, heading: string) => {
          const navigation = page.getByRole('navigation', { name: 'Main' });
          // Folded away: Mantine moves the navigation off the screen's left edge.
          const onScreen = () => navigation.evaluate((el) => el.getBoundingClientRect().right > 0);
          if (width < 768) {
            expect(await onScreen()).toBe(false);
            await page.getByRole('button', { name: 'Open navigation' }).click();
            await expect.poll(onScreen).toBe(true);
          }
          await navigation.getByRole('link', { name: link }).click();
          await page.getByRole('heading', { name: heading, level: 2 }).waitFor();
          if (width < 768) await page.getByRole('button', { name: 'Open navigation' }).waitFor();
        };

        await page.getByRole('cell', { name: 'Jayne Cobb' }).waitFor();
        await check(page, `${tag}-users`);

        await go('Work', 'Work');
        const inbox = page.getByRole('table', { name: 'Tasks that need a person' });
        await inbox.getByRole('link', { name: 'Jayne Cobb' }).waitFor();
        await inbox.getByText('jayne.cobb').waitFor();
        await inbox.getByText('Security').waitFor();
        await inbox.getByText('26 in 60 minutes, limit 25.', { exact: false }).waitFor();
        await inbox.getByText('Held for approval').waitFor();
        await check(page, `${tag}-work`);

        await go('Audit', 'Audit');
        const trail = page.getByRole('table', { name: 'Audit trail' });
        await trail.getByText('Inara Serra (inara)').first().waitFor();
        await trail.getByText('Status: Active → Disabled').waitFor();
        await check(page, `${tag}-audit`);

        await go('Add users', 'Add users');
        await check(page, `${tag}-add-users`);

        await go('Provisioning log', 'Provisioning log');
        await page.getByText('/Users', { exact: false }).first().waitFor();
        await check(page, `${tag}-provisioning-log`);

        await go('Settings', 'Settings');
        await check(page, `${tag}-settings`);

        await page.goto(`${t.runtime.url}/console/users/${userId}`);
        await page.getByRole('heading', { name: 'Jayne Cobb' }).waitFor();
        await check(page, `${tag}-user`);

        // The switch overrides the system setting, and the choice stays for the next visit.
        const other = scheme === 'dark' ? 'light' : 'dark';
        await page.getByRole('button', { name: `Switch to ${other} mode` }).click();
        expect(await page.locator('html').getAttribute('data-mantine-color-scheme')).toBe(other);
        await page.reload();
        await page.getByRole('heading', { name: 'Jayne Cobb' }).waitFor();
        expect(await page.locator('html').getAttribute('data-mantine-color-scheme')).toBe(other);
        await context.close();
      }, 90_000);
    }
  }
});
