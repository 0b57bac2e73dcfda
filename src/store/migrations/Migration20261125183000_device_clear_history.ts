import { Migration } from '@mikro-orm/migrations';

export class Migration20261125183000_device_clear_history extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "devices" add column "clear_history" boolean not null default false;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "devices" drop column "clear_history";`);
  }

}
