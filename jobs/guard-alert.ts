import { UnrecoverableError } from 'bullmq';
import { guardAlertMessage } from '../src/mail/messages.ts';
import { findGuardAlertFacts } from '../src/store/deprovision-guard.ts';
import { recordMailSent } from '../src/store/tasks.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';

/**
 * E-mails a tenant's admins that the mass-deprovision guard holds IdP work (besides its log line,
 * metric and console banner). One alert task is live per tenant at a time and waits a little
 * (see src/scim/idp-events.ts), so a burst becomes one e-mail with the count. Sent at most once per
 * task: the send is recorded on the row before the job completes, as welcome e-mails are.
 */
export const guardAlertProcessor: TaskProcessor<'guard_alert'> = async (context) => {
  const { task, em, logger } = context;
  if (typeof task.result?.sentAt === 'string') return { state: 'succeeded', result: task.result };
  const facts = await findGuardAlertFacts(em, task.tenantId);
  if (!facts) throw new UnrecoverableError('no such tenant');
  const { heldCount } = facts;
  // Decided before the alert went out: nothing to tell.
  if (heldCount === 0) return { state: 'succeeded', result: { skipped: 'nothing_held' } };
  if (!facts.admins.length) {
    logger.warn({ heldCount }, 'deprovision guard: no admin with an e-mail address to alert');
    return { state: 'succeeded', result: { skipped: 'no_admin_email', heldCount } };
  }
  const content = guardAlertMessage({ tenant: facts.tenant, heldCount, workUrl: `${context.publicUrl}/console/work` });
  const messageId = `<${task.id}@turnover>`;
  const sent = await context.mailer.send({ to: facts.admins, subject: content.subject, text: content.text, html: content.html, messageId });
  const result = { sentAt: new Date().toISOString(), messageId: sent.messageId || messageId, to: facts.admins, heldCount };
  // The run's outcome is guarded by the version this moves the row to.
  task.version = (await context.persistNow((tx) => recordMailSent(tx, task.id, result))) ?? task.version;
  logger.warn({ heldCount, to: facts.admins.length }, 'deprovision guard: admins alerted');
  return { state: 'succeeded', result };
};
