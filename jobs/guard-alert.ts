import { UnrecoverableError } from 'bullmq';
import { guardAlertMessage } from '../src/mail/messages.ts';
import { sqlIn } from '../src/store/sql.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';

/**
 * E-mails a tenant's admins that the mass-deprovision guard holds IdP work (one of the guard's
 * four signals: log line, metric, e-mail, console banner). One alert task is live per tenant at a time and waits a little
 * (see src/scim/idp-events.ts), so a burst becomes one e-mail with the count. Sent at most once per
 * task: the send is recorded on the row before the job completes, as welcome e-mails are.
 */
export const guardAlertProcessor: TaskProcessor<'guard_alert'> = async (context) => {
  const { task, em, logger } = context;
  if (typeof task.result?.sentAt === 'string') return { state: 'succeeded', result: task.result };
  const [facts] = await sqlIn(em)<{ tenant: string; held: string; admins: string[] | null }>(
    `select t.name as tenant,
            (select count(*) from tasks where tenant_id = t.id and state = 'held' and reason = 'deprovision_guard') as held,
            (select array_agg(distinct email order by email) from users
              where tenant_id = t.id and role = 'admin' and status in ('active', 'inactive') and email is not null) as admins
       from tenants t where t.id = ?`,
    [task.tenantId],
  );
  if (!facts) throw new UnrecoverableError('no such tenant');
  const heldCount = Number(facts.held);
  // Decided before the alert went out: nothing to tell.
  if (heldCount === 0) return { state: 'succeeded', result: { skipped: 'nothing_held' } };
  if (!facts.admins?.length) {
    logger.warn({ heldCount }, 'deprovision guard: no admin with an e-mail address to alert');
    return { state: 'succeeded', result: { skipped: 'no_admin_email', heldCount } };
  }
  const content = guardAlertMessage({ tenant: facts.tenant, heldCount, workUrl: `${context.publicUrl}/console/work` });
  const messageId = `<${task.id}@turnover>`;
  const sent = await context.mailer.send({ to: facts.admins, subject: content.subject, text: content.text, html: content.html, messageId });
  const result = { sentAt: new Date().toISOString(), messageId: sent.messageId || messageId, to: facts.admins, heldCount };
  await context.persistNow((tx) =>
    tx.getConnection().execute(`update tasks set result = ?::jsonb, updated_at = now(), version = version + 1 where id = ?`, [JSON.stringify(result), task.id], 'run', tx.getTransactionContext()),
  );
  logger.warn({ heldCount, to: facts.admins.length }, 'deprovision guard: admins alerted');
  return { state: 'succeeded', result };
};
