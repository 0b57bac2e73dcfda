import { Migration } from '@mikro-orm/migrations';

/**
 * SCIM DELETE hides a user from the IdP even when the tenant policy keeps the row in another
 * status (onScimDelete `deprovision` leaves it disabled): the IdP must then see 404, or it would
 * find the user again and never re-create it.
 */
export class Migration20261126090000_users_idp_deleted_at extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "users" add column "idp_deleted_at" timestamptz null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "users" drop column "idp_deleted_at";`);
  }

}
