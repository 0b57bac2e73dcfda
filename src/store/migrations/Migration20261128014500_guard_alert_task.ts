import { Migration } from '@mikro-orm/migrations';

/** The `guard_alert` task type (the mass-deprovision guard's e-mail to admins). Lists are frozen here, as migrations must be. */
const BEFORE = `'deprovision', 'ban', 'unban', 'disable', 'activate', 'unlock', 'delete', 'purge', 'reset', 'recycle', 'welcome_email', 'force_password_reset', 'inactivity_sweep'`;

export class Migration20261128014500_guard_alert_task extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "tasks" drop constraint if exists "tasks_type_check";`);
    this.addSql(`alter table "tasks" add constraint "tasks_type_check" check ("type" in (${BEFORE}, 'guard_alert'));`);
  }

  override async down(): Promise<void> {
    this.addSql(`delete from "tasks" where "type" = 'guard_alert';`);
    this.addSql(`alter table "tasks" drop constraint if exists "tasks_type_check";`);
    this.addSql(`alter table "tasks" add constraint "tasks_type_check" check ("type" in (${BEFORE}));`);
  }
}
