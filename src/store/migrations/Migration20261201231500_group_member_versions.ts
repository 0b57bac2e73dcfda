import { Migration } from '@mikro-orm/migrations';

/**
 * A SCIM Group's meta.version (its ETag, src/scim/etag.ts) must change whenever its `members`
 * do. Writes of the group and its memberships bump it themselves (src/store/scim-groups.ts); this
 * trigger covers the member's side, from whichever writer (SCIM, the admin API, lifecycle jobs):
 * a member's display (display_name, else user_name) or visibility to the IdP (status deleted or
 * purged, idp_deleted_at; the VISIBLE rule of src/store/scim-users.ts) changed. Row-level with a
 * WHEN so other user updates (check-ins, counters) cost nothing; the update touches only the
 * user's own groups (group_memberships_user_idx).
 */
export class Migration20261201231500_group_member_versions extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create or replace function turnover_bump_member_group_versions() returns trigger language plpgsql as $$
begin
  update groups set version = version + 1, updated_at = now()
   where id in (select group_id from group_memberships where user_id = new.id);
  return null;
end
$$;`);
    this.addSql(`create trigger users_member_groups_version after update of user_name, display_name, status, idp_deleted_at on users
  for each row when (
    old.user_name is distinct from new.user_name
    or old.display_name is distinct from new.display_name
    or (old.status in ('deleted', 'purged') or old.idp_deleted_at is not null) <> (new.status in ('deleted', 'purged') or new.idp_deleted_at is not null))
  execute function turnover_bump_member_group_versions();`);
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger if exists users_member_groups_version on users;');
    this.addSql('drop function if exists turnover_bump_member_group_versions();');
  }
}
