import { Migration } from '@mikro-orm/migrations';

export class Migration20261128000456_operator_sessions extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "operator_sessions" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "token_hash" text not null, "created_at" timestamptz not null default now(), "last_seen_at" timestamptz not null default now(), "expires_at" timestamptz not null, "revoked_at" timestamptz null, "user_agent" text null, "address" text null, constraint "operator_sessions_pkey" primary key ("id"));`);
    this.addSql(`alter table "operator_sessions" add constraint "operator_sessions_token_hash_key" unique ("token_hash");`);
    this.addSql(`create index "operator_sessions_user_idx" on "operator_sessions" ("user_id");`);

    this.addSql(`alter table "operator_sessions" add constraint "operator_sessions_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "operator_sessions" add constraint "operator_sessions_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "operator_sessions" cascade;`);
  }

}
