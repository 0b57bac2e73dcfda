import { Migration } from '@mikro-orm/migrations';

/** The users an operation's dry run resolved from a selection, for its confirmed run (src/store/operation-targets.ts). */
export class Migration20261201231815_operation_targets extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "operation_targets" ("confirm_token_hash" text not null, "user_id" uuid not null, "tenant_id" uuid not null, "expires_at" timestamptz not null, constraint "operation_targets_pkey" primary key ("confirm_token_hash", "user_id"));`);
    this.addSql(`create index "operation_targets_expires_at_idx" on "operation_targets" ("expires_at");`);

    this.addSql(`alter table "operation_targets" add constraint "operation_targets_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "operation_targets" cascade;`);
  }

}
