import { Migration } from '@mikro-orm/migrations';

export class Migration20261125180819 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "tenants" ("id" uuid not null, "name" text not null, "policy" jsonb not null default '{}', "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "tenants_pkey" primary key ("id"));`);
    this.addSql(`alter table "tenants" add constraint "tenants_name_key" unique ("name");`);

    this.addSql(`create table "operations" ("id" uuid not null, "tenant_id" uuid not null, "action" text not null, "options" jsonb not null default '{}', "actor" text not null, "state" text check ("state" in ('running', 'completed')) not null default 'running', "total" int not null, "created_at" timestamptz not null default now(), "finished_at" timestamptz null, constraint "operations_pkey" primary key ("id"));`);
    this.addSql(`create index "operations_tenant_created_at_idx" on "operations" ("tenant_id", "created_at");`);

    this.addSql(`create table "groups" ("id" uuid not null, "tenant_id" uuid not null, "display_name" text not null, "external_id" text null, "version" int not null default 1, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "groups_pkey" primary key ("id"));`);
    this.addSql(`create unique index "groups_tenant_display_name_key" on "groups" ("tenant_id", lower("display_name"));`);
    this.addSql(`create index "groups_tenant_external_id_idx" on "groups" ("tenant_id", "external_id");`);

    this.addSql(`create table "audit_entries" ("id" bigserial primary key, "tenant_id" uuid not null, "at" timestamptz not null, "actor" text not null, "action" text not null, "user_id" uuid null, "task_id" uuid null, "details" jsonb not null default '{}');`);
    this.addSql(`create index "audit_entries_tenant_at_idx" on "audit_entries" ("tenant_id", "at");`);
    this.addSql(`create index "audit_entries_tenant_user_at_idx" on "audit_entries" ("tenant_id", "user_id", "at");`);
    this.addSql(`create index "audit_entries_tenant_actor_at_idx" on "audit_entries" ("tenant_id", "actor", "at");`);

    this.addSql(`create table "users" ("id" uuid not null, "tenant_id" uuid not null, "user_name" text null, "external_id" text null, "first_name" text null, "last_name" text null, "display_name" text null, "email" text null, "emails" jsonb not null default '[]', "phone" text null, "phone_numbers" jsonb not null default '[]', "extension" text null, "department" text null, "role" text check ("role" in ('basic_user', 'call_center_agent', 'call_center_supervisor', 'office_manager', 'admin')) not null default 'basic_user', "status" text check ("status" in ('password_required', 'active', 'inactive', 'disabled', 'banned', 'denied', 'setup_required', 'deleted', 'purged')) not null default 'password_required', "disabled_by" text check ("disabled_by" in ('idp', 'operator')) null, "idp_active" boolean not null default true, "title" text null, "employee_number" text null, "cost_center" text null, "organization" text null, "division" text null, "manager_id" uuid null, "termination_date" timestamptz null, "scim_extra" jsonb not null default '{}', "password_hash" text null, "pin_hash" text null, "failed_login_count" int not null default 0, "last_checkin_at" timestamptz null, "last_signin_at" timestamptz null, "status_changed_at" timestamptz not null, "version" int not null default 1, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "users_pkey" primary key ("id"), constraint users_failed_login_count_check check (failed_login_count >= 0));`);
    this.addSql(`create unique index "users_tenant_username_key" on "users" ("tenant_id", lower("user_name"));`);
    this.addSql(`create index "users_tenant_external_id_idx" on "users" ("tenant_id", "external_id");`);
    this.addSql(`create index "users_tenant_email_idx" on "users" ("tenant_id", lower("email"));`);
    this.addSql(`create index "users_tenant_status_idx" on "users" ("tenant_id", "status");`);
    this.addSql(`create index "users_tenant_updated_at_idx" on "users" ("tenant_id", "updated_at", "id");`);
    this.addSql(`create index "users_tenant_extension_idx" on "users" ("tenant_id", "extension");`);

    this.addSql(`create table "tasks" ("id" uuid not null, "tenant_id" uuid not null, "type" text check ("type" in ('deprovision', 'ban', 'unban', 'disable', 'activate', 'unlock', 'delete', 'purge', 'reset', 'recycle', 'welcome_email', 'force_password_reset', 'inactivity_sweep')) not null, "user_id" uuid null, "operation_id" uuid null, "state" text check ("state" in ('pending', 'enqueued', 'running', 'waiting_for_device', 'needs_decision', 'held', 'succeeded', 'failed', 'cancelled')) not null default 'pending', "payload" jsonb not null default '{}', "attempts" int not null default 0, "max_attempts" int not null default 5, "last_error" text null, "reason" text null, "run_at" timestamptz not null, "result" jsonb null, "actor" text not null default 'system', "dedupe_key" text null, "enqueued_at" timestamptz null, "started_at" timestamptz null, "finished_at" timestamptz null, "version" int not null default 1, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "tasks_pkey" primary key ("id"), constraint tasks_attempts_check check (attempts >= 0 and max_attempts >= 1));`);
    this.addSql(`create index "tasks_pending_run_at_idx" on "tasks" ("run_at") where "state" = 'pending';`);
    this.addSql(`create index "tasks_operation_state_idx" on "tasks" ("operation_id", "state");`);
    this.addSql(`create index "tasks_tenant_user_idx" on "tasks" ("tenant_id", "user_id", "created_at");`);
    this.addSql(`create index "tasks_tenant_state_idx" on "tasks" ("tenant_id", "state", "updated_at");`);
    this.addSql(`create unique index "tasks_live_dedupe_key" on "tasks" ("tenant_id", "dedupe_key") where "dedupe_key" is not null and "state" not in ('succeeded', 'failed', 'cancelled');`);

    this.addSql(`create table "phone_numbers" ("id" uuid not null, "tenant_id" uuid not null, "number" text not null, "state" text check ("state" in ('available', 'assigned')) not null default 'available', "user_id" uuid null, "assigned_at" timestamptz null, "created_at" timestamptz not null default now(), constraint "phone_numbers_pkey" primary key ("id"), constraint phone_numbers_number_check check (number ~ '^\\+[1-9][0-9]{1,14}\$'), constraint phone_numbers_assignment_check check ((state = 'assigned') = (user_id is not null)));`);
    this.addSql(`create index "phone_numbers_user_idx" on "phone_numbers" ("user_id");`);
    this.addSql(`alter table "phone_numbers" add constraint "phone_numbers_tenant_number_key" unique ("tenant_id", "number");`);

    this.addSql(`create table "password_links" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "purpose" text check ("purpose" in ('welcome', 'recovery')) not null, "token_hash" text not null, "task_id" uuid null, "expires_at" timestamptz not null, "used_at" timestamptz null, "created_at" timestamptz not null default now(), constraint "password_links_pkey" primary key ("id"));`);
    this.addSql(`alter table "password_links" add constraint "password_links_token_hash_key" unique ("token_hash");`);
    this.addSql(`create index "password_links_user_idx" on "password_links" ("user_id");`);

    this.addSql(`create table "group_memberships" ("group_id" uuid not null, "user_id" uuid not null, "created_at" timestamptz not null default now(), constraint "group_memberships_pkey" primary key ("group_id", "user_id"));`);
    this.addSql(`create index "group_memberships_user_idx" on "group_memberships" ("user_id");`);

    this.addSql(`create table "devices" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "kind" text check ("kind" in ('mobile_app', 'desktop_app', 'soft_phone', 'desk_phone')) not null, "client_id" text not null, "name" text null, "mac" text null, "pending_items" int not null default 0, "last_checkin_at" timestamptz null, "removed_at" timestamptz null, "created_at" timestamptz not null default now(), constraint "devices_pkey" primary key ("id"), constraint devices_pending_items_check check (pending_items >= 0));`);
    this.addSql(`alter table "devices" add constraint "devices_user_client_id_key" unique ("user_id", "client_id");`);

    this.addSql(`create table "api_tokens" ("id" uuid not null, "tenant_id" uuid not null, "kind" text check ("kind" in ('scim', 'admin', 'device')) not null, "role" text check ("role" in ('office_manager', 'admin')) null, "label" text null, "token_hash" text not null, "prefix" text not null, "user_id" uuid null, "device_id" uuid null, "created_at" timestamptz not null default now(), "last_used_at" timestamptz null, "revoked_at" timestamptz null, "expires_at" timestamptz null, constraint "api_tokens_pkey" primary key ("id"));`);
    this.addSql(`alter table "api_tokens" add constraint "api_tokens_token_hash_key" unique ("token_hash");`);
    this.addSql(`create index "api_tokens_tenant_kind_idx" on "api_tokens" ("tenant_id", "kind");`);

    this.addSql(`create table "user_data" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid null, "kind" text not null, "payload" jsonb not null, "created_at" timestamptz not null default now(), constraint "user_data_pkey" primary key ("id"), constraint user_data_kind_check check (kind ~ '^[a-z][a-z0-9_]{0,63}\$'));`);
    this.addSql(`create index "user_data_user_kind_idx" on "user_data" ("user_id", "kind");`);
    this.addSql(`create index "user_data_tenant_kind_idx" on "user_data" ("tenant_id", "kind");`);

    this.addSql(`alter table "operations" add constraint "operations_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "groups" add constraint "groups_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "audit_entries" add constraint "audit_entries_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "users" add constraint "users_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "tasks" add constraint "tasks_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "tasks" add constraint "tasks_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "tasks" add constraint "tasks_operation_id_foreign" foreign key ("operation_id") references "operations" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "phone_numbers" add constraint "phone_numbers_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "phone_numbers" add constraint "phone_numbers_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete no action;`);

    this.addSql(`alter table "password_links" add constraint "password_links_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "password_links" add constraint "password_links_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "group_memberships" add constraint "group_memberships_group_id_foreign" foreign key ("group_id") references "groups" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "group_memberships" add constraint "group_memberships_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "devices" add constraint "devices_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "devices" add constraint "devices_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "api_tokens" add constraint "api_tokens_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "api_tokens" add constraint "api_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "api_tokens" add constraint "api_tokens_device_id_foreign" foreign key ("device_id") references "devices" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "user_data" add constraint "user_data_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "user_data" add constraint "user_data_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
  }

}
