import { Migration } from '@mikro-orm/migrations';

export class Migration20261127235117_api_tokens_user_idx extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index "api_tokens_user_idx" on "api_tokens" ("user_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "api_tokens_user_idx";`);
  }

}
