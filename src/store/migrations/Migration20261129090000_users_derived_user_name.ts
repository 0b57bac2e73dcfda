import { Migration } from '@mikro-orm/migrations';

/**
 * `users.derived_user_name`: the login turnover derived for a user (src/lifecycle/login.ts), so a
 * reset and a recycle can tell a login that follows the seat's person from one an operator or an
 * IdP chose.
 *
 * Existing users: one the admin API, the CSV import or the CLI created (audited with source
 * `admin`), that no IdP has linked (no externalId), has a derived login when it is their email,
 * or, for a seat reset before (no email left), when it looks like an email: that is the previous
 * person's. Those reset seats then get the placeholder a reset gives now, so the previous
 * person's email is no longer shown for them.
 */
export class Migration20261129090000_users_derived_user_name extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "users" add column "derived_user_name" text null;`);
    this.addSql(`
      update users u set derived_user_name = u.user_name
       where u.external_id is null and u.user_name is not null and u.status <> 'purged'
         and (lower(u.user_name) = lower(u.email) or (u.status = 'setup_required' and u.email is null and u.user_name like '%@%'))
         and exists (select 1 from audit_entries a
                      where a.tenant_id = u.tenant_id and a.user_id = u.id and a.action = 'user.create' and a.details->>'source' = 'admin');`);
    this.addSql(`
      update users set user_name = 'seat-' || id, derived_user_name = 'seat-' || id, version = version + 1, updated_at = now()
       where status = 'setup_required' and derived_user_name is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "users" drop column "derived_user_name";`);
  }
}
