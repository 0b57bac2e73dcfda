import { Migration } from '@mikro-orm/migrations';

/**
 * group_memberships gets its group's tenant_id, the last table of a tenant's data without one:
 * a distributed PostgreSQL (Citus) distributes every such table by tenant_id (README: Scaling).
 */
export class Migration20261202000000_group_memberships_tenant extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "group_memberships" add column "tenant_id" uuid null;`);
    this.addSql(`update "group_memberships" m set "tenant_id" = g."tenant_id" from "groups" g where g."id" = m."group_id";`);
    this.addSql(`alter table "group_memberships" alter column "tenant_id" set not null;`);
    this.addSql(`alter table "group_memberships" add constraint "group_memberships_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "group_memberships" drop constraint "group_memberships_tenant_id_foreign";`);
    this.addSql(`alter table "group_memberships" drop column "tenant_id";`);
  }

}
