import { Migration } from '@mikro-orm/migrations';

/**
 * A SCIM list walks a tenant in id order (src/store/scim-filter.ts findScimPage): each page after
 * the first continues after the previous page's last id. With these, a page is an index range scan
 * from that id, and the walk's count an index-only scan, at any depth and tenant size.
 * The users index holds only the users the IdP sees (scim-users.ts VISIBLE).
 */
export class Migration20261201233000_scim_paging_indexes extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "users_tenant_scim_visible_id_idx" on "users" ("tenant_id", "id") where "status" not in ('deleted', 'purged') and "idp_deleted_at" is null;`);
    this.addSql(`create index "groups_tenant_id_idx" on "groups" ("tenant_id", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists "users_tenant_scim_visible_id_idx";`);
    this.addSql(`drop index if exists "groups_tenant_id_idx";`);
  }
}
