import { Migration } from '@mikro-orm/migrations';

/** A confirm token starts one operation: the operation keeps its hash under a unique constraint. */
export class Migration20261201193459_confirm_token_hash extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "operations" add column "confirm_token_hash" text null;`);
    this.addSql(`alter table "operations" add constraint "operations_confirm_token_hash_key" unique ("confirm_token_hash");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "operations" drop constraint "operations_confirm_token_hash_key";`);
    this.addSql(`alter table "operations" drop column "confirm_token_hash";`);
  }

}
