import { UnrecoverableError } from 'bullmq';
import { REFUSALS, transition, type Refusal } from '../src/lifecycle/transition.ts';
import { passwordLinkMessage } from '../src/mail/messages.ts';
import { findPasswordLinkRecipient } from '../src/store/mail-recipients.ts';
import { expirePasswordLink, issuePasswordLink } from '../src/store/password-links.ts';
import { recordMailSent } from '../src/store/tasks.ts';
import { applyLifecycleEvent, loadPolicy } from '../src/store/user-lifecycle.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';

/** What the task row records once the email is handed to the mail server. */
export interface PasswordLinkMailSent {
  sentAt: string;
  messageId: string;
  linkId: string;
  to: string;
  purpose: 'welcome' | 'recovery';
  expiresAt: string;
}

/**
 * Sends a welcome (or, with purpose `recovery`, a password recovery) email with a fresh
 * set-password link, at most once per task:
 * 1. A task whose row already records a send succeeds without sending (a re-driven or retried job).
 * 2. The link is committed on its own (persistNow) before sending, so the emailed link exists even
 *    if this task's transaction rolls back afterwards.
 * 3. The send is recorded in the task row on its own (persistNow) right after the mail server
 *    accepts it, before the job completes. Only a crash between those two leaves a duplicate
 *    possible, and the Message-ID `<task id@turnover>` makes it recognisable.
 */
export const welcomeEmailProcessor: TaskProcessor<'welcome_email'> = async (context) => {
  const { task, em, payload, logger } = context;
  const purpose = payload.purpose ?? 'welcome';
  if (alreadySent(task.result)) {
    logger.info({ messageId: task.result.messageId }, 'email already sent by an earlier attempt; not sending again');
    return { state: 'succeeded', result: task.result };
  }
  if (!task.userId) throw new UnrecoverableError('welcome_email task has no user');
  const userId = task.userId;

  const policy = await loadPolicy(em, task.tenantId);
  const user = await findPasswordLinkRecipient(em, task.tenantId, userId);
  // Checked before a link is minted, without the row lock: applyLifecycleEvent below locks the
  // user FOR UPDATE, and the link's insert (its own transaction) would then wait on that lock
  // for its foreign key check while this transaction waits for it.
  const precheck = transition(
    user
      ? { status: user.status, disabledBy: user.disabledBy, failedLoginCount: user.failedLoginCount, hasPassword: user.hasPassword }
      : null,
    { type: 'send_welcome' },
    policy,
  );
  if (!precheck.ok) throw refused(precheck.refusal);
  if (!user?.email) throw refused({ code: 'email_required', message: REFUSALS.email_required });
  const to = user.email;

  const issued = await context.persistNow((tx) =>
    issuePasswordLink(tx, { tenantId: task.tenantId, userId, purpose, taskId: task.id, publicUrl: context.publicUrl, policy }),
  );

  const applied = await applyLifecycleEvent(em, {
    tenantId: task.tenantId,
    userId,
    event: { type: 'send_welcome' },
    actor: task.actor,
    taskId: task.id,
    policy,
    mailInline: true,
    details: { purpose, linkId: issued.link.id },
  });
  if (!applied.ok) {
    // The user changed between the check and the lock: the link was never sent, withdraw it.
    await context.persistNow((tx) => expirePasswordLink(tx, issued.link.id));
    throw refused(applied.refusal);
  }

  const content = passwordLinkMessage(purpose, {
    firstName: user.firstName,
    login: user.userName ?? to,
    extension: user.extension,
    link: issued.url,
    expiresAt: issued.link.expiresAt,
    validHours: issued.validHours,
  });
  const messageId = `<${task.id}@turnover>`;
  const sent = await context.mailer.send({
    to,
    subject: content.subject,
    text: content.text,
    html: content.html,
    messageId,
  });

  const result: PasswordLinkMailSent = {
    sentAt: new Date().toISOString(),
    messageId: sent.messageId || messageId,
    linkId: issued.link.id,
    to,
    purpose,
    expiresAt: issued.link.expiresAt.toISOString(),
  };
  // Not guarded by state: the email went out whatever happened to the task meanwhile. The run's
  // outcome is guarded by the version this moves the row to.
  task.version = (await context.persistNow((tx) => recordMailSent(tx, task.id, result))) ?? task.version;
  logger.info({ messageId: result.messageId, linkId: result.linkId, purpose }, 'email sent');
  return { state: 'succeeded', result: { ...result } };
};

function alreadySent(result: Record<string, unknown> | null): result is Record<string, unknown> {
  return typeof result?.sentAt === 'string';
}

function refused(refusal: Pick<Refusal, 'message'> & { code: string }): UnrecoverableError {
  return new UnrecoverableError(`${refusal.code}: ${refusal.message}`);
}
