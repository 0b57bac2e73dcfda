import { Migration } from '@mikro-orm/migrations';

/** The display name the IdP gave a member when adding it (SCIMMY's Group schema: immutable). */
export class Migration20261201233000_group_membership_display extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "group_memberships" add column "display" text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "group_memberships" drop column "display";`);
  }

}
