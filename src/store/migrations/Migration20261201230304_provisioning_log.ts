import { Migration } from '@mikro-orm/migrations';

/** The provisioning log: one row per SCIM request (src/store/provisioning-log.ts). */
export class Migration20261201230304_provisioning_log extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "provisioning_log" ("id" bigserial primary key, "tenant_id" uuid not null, "at" timestamptz not null, "token_id" uuid null, "method" text not null, "path" text not null, "resource_type" text null, "operation" text null, "resource_id" uuid null, "resource_name" text null, "status" smallint not null, "outcome" text check ("outcome" in ('ok', 'client_error', 'server_error')) not null, "scim_type" text null, "detail" text null, "request_id" text null, "duration_ms" real not null, "filter" text null, "attributes" text[] null);`);
    this.addSql(`create index "provisioning_log_tenant_at_idx" on "provisioning_log" ("tenant_id", "at", "id");`);
    this.addSql(`create index "provisioning_log_tenant_resource_at_idx" on "provisioning_log" ("tenant_id", "resource_id", "at", "id");`);
    this.addSql(`create index "provisioning_log_tenant_name_at_idx" on "provisioning_log" ("tenant_id", lower("resource_name"), "at", "id") where "resource_id" is null and "resource_name" is not null;`);
    this.addSql(`create index "provisioning_log_tenant_failed_at_idx" on "provisioning_log" ("tenant_id", "outcome", "at", "id") where "outcome" <> 'ok';`);
    this.addSql(`create index "provisioning_log_at_idx" on "provisioning_log" ("at");`);

    this.addSql(`alter table "provisioning_log" add constraint "provisioning_log_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "provisioning_log" cascade;`);
  }

}
