import { Migration } from '@mikro-orm/migrations';

/**
 * The admin user list at 100,000 users: keyset paging in creation order, and search through one
 * trigram index (pg_trgm ships with PostgreSQL and the embedded server, and is a trusted
 * extension since PostgreSQL 13, so a database owner may create it).
 */
export class Migration20261128004800_user_list_search extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create extension if not exists pg_trgm;`);
    this.addSql(`create index "users_tenant_created_at_idx" on "users" ("tenant_id", "created_at", "id");`);
    this.addSql(
      `create index "users_search_trgm_idx" on "users" using gin ((coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(display_name, '') || ' ' || coalesce(user_name, '') || ' ' || coalesce(email, '') || ' ' || coalesce(extension, '')) gin_trgm_ops);`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "users_search_trgm_idx";`);
    this.addSql(`drop index if exists "users_tenant_created_at_idx";`);
  }
}
