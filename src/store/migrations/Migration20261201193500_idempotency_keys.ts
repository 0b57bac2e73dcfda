import { Migration } from '@mikro-orm/migrations';

/** Idempotency-Key claims and answers (src/store/idempotency.ts). */
export class Migration20261201193500_idempotency_keys extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "idempotency_keys" ("id" uuid not null, "tenant_id" uuid not null, "actor" text not null, "route" text not null, "key_hash" text not null, "request_hash" text not null, "status" int null, "response_body" text null, "response_location" text null, "created_at" timestamptz not null default now(), "completed_at" timestamptz null, constraint "idempotency_keys_pkey" primary key ("id"));`);
    this.addSql(`create index "idempotency_keys_created_at_idx" on "idempotency_keys" ("created_at");`);
    this.addSql(`alter table "idempotency_keys" add constraint "idempotency_keys_scope_key" unique ("tenant_id", "actor", "route", "key_hash");`);

    this.addSql(`alter table "idempotency_keys" add constraint "idempotency_keys_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "idempotency_keys" cascade;`);
  }

}
