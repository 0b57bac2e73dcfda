import type { EntityManager } from '@mikro-orm/postgresql';
import type { DisabledBy, StoredUserStatus } from '../lifecycle/statuses.ts';
import { sqlIn } from './sql.ts';

/** The user a set-password e-mail goes to: what the lifecycle check reads and what the message says. */
export interface PasswordLinkRecipient {
  status: StoredUserStatus;
  disabledBy: DisabledBy | null;
  failedLoginCount: number;
  hasPassword: boolean;
  userName: string | null;
  firstName: string | null;
  email: string | null;
  extension: string | null;
}

/** Read without a lock (the welcome_email job checks before it mints a link, then locks to apply). */
export async function findPasswordLinkRecipient(em: EntityManager, tenantId: string, userId: string): Promise<PasswordLinkRecipient | null> {
  const [row] = await sqlIn(em)<PasswordLinkRecipient>(
    `select status, disabled_by as "disabledBy", failed_login_count as "failedLoginCount", password_hash is not null as "hasPassword",
            user_name as "userName", first_name as "firstName", email, extension
       from users where id = ? and tenant_id = ?`,
    [userId, tenantId],
  );
  return row ?? null;
}
