import { Migration } from '@mikro-orm/migrations';

/**
 * Wakes the outbox relay at commit time: a statement-level trigger sends one NOTIFY per statement
 * that leaves a task `pending` (a bulk insert of 10,000 tasks is one notification, not 10,000).
 * NOTIFY is transactional, so the relay never wakes for a task that was rolled back.
 */
export class Migration20261125182000_tasks_notify extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create or replace function turnover_tasks_notify() returns trigger language plpgsql as $$
begin
  if exists (select 1 from new_rows where state = 'pending') then
    perform pg_notify('turnover_tasks', '');
  end if;
  return null;
end
$$;`);
    this.addSql(`create trigger tasks_notify_insert after insert on tasks referencing new table as new_rows
  for each statement execute function turnover_tasks_notify();`);
    this.addSql(`create trigger tasks_notify_update after update on tasks referencing new table as new_rows
  for each statement execute function turnover_tasks_notify();`);
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger if exists tasks_notify_update on tasks;');
    this.addSql('drop trigger if exists tasks_notify_insert on tasks;');
    this.addSql('drop function if exists turnover_tasks_notify();');
  }
}
