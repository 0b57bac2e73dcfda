import { Migration } from '@mikro-orm/migrations';

/** Partial indexes for the mass-deprovision guard's counts (src/scim/idp-events.ts mustHold). */
export class Migration20261128030000_guard_count_indexes extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create index "audit_entries_idp_deprovision_idx" on "audit_entries" ("tenant_id", "at") where "action" in ('user.scim_deactivate', 'user.scim_delete');`,
    );
    this.addSql(`create index "tasks_guard_held_idx" on "tasks" ("tenant_id", "created_at") where "reason" = 'deprovision_guard';`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "audit_entries_idp_deprovision_idx";`);
    this.addSql(`drop index if exists "tasks_guard_held_idx";`);
  }
}
