import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMail } from '../support/mime.ts';
import { useTestRuntime } from '../support/runtime.ts';
import { startSmtpSink } from '../support/smtp-sink.ts';

const sink = await startSmtpSink();
afterAll(() => sink.close());

/** The mass-deprovision guard's e-mail: the tenant's admins learn how much IdP work is held, once. */
describe('guard_alert', () => {
  const t = useTestRuntime({
    label: 'guard_alert',
    env: { SMTP_URL: sink.url, PUBLIC_URL: 'https://turnover.example.org', DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'turnover-guard-')) },
  });

  it('e-mails every admin with an address the count of held changes and the Work link, once', async () => {
    await t.createUser({ role: 'admin', email: 'wash@serenity.test', status: 'active' });
    await t.createUser({ role: 'admin', email: 'mal@serenity.test', status: 'active' });
    await t.createUser({ role: 'office_manager', email: 'kaylee@serenity.test', status: 'active' });
    for (let i = 0; i < 3; i++) {
      const user = await t.createUser({ status: 'active' });
      await t.createTask('deprovision', user.id, { source: 'scim', idpEvent: 'scim_deactivate' }, { state: 'held', reason: 'deprovision_guard' });
    }
    const id = await t.createTask('guard_alert', null);
    const task = await t.waitForTask(id, ['succeeded']);
    expect(task.result).toMatchObject({ heldCount: 3, to: ['mal@serenity.test', 'wash@serenity.test'] });
    const mails = sink.received.filter((m) => m.raw.includes(`${id}@turnover`));
    expect(mails).toHaveLength(1);
    const mail = parseMail(mails[0]!.raw);
    expect(mail.text).toContain('3 changes are held');
    expect(mail.text).toContain('https://turnover.example.org/console/work');
    expect(mails[0]!.to).toEqual(expect.arrayContaining(['mal@serenity.test', 'wash@serenity.test']));
    expect(mails[0]!.to).not.toContain('kaylee@serenity.test');
  });
});
