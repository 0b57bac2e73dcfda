import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261125180819 } from './Migration20261125180819.ts';
import { Migration20261125182000_tasks_notify } from './Migration20261125182000_tasks_notify.ts';
import { Migration20261125183000_device_clear_history } from './Migration20261125183000_device_clear_history.ts';
import { Migration20261126090000_users_idp_deleted_at } from './Migration20261126090000_users_idp_deleted_at.ts';
import { Migration20261127235117_api_tokens_user_idx } from './Migration20261127235117_api_tokens_user_idx.ts';
import { Migration20261128000456_operator_sessions } from './Migration20261128000456_operator_sessions.ts';
import { Migration20261128004800_user_list_search } from './Migration20261128004800_user_list_search.ts';
import { Migration20261128014500_guard_alert_task } from './Migration20261128014500_guard_alert_task.ts';
import { Migration20261128030000_guard_count_indexes } from './Migration20261128030000_guard_count_indexes.ts';
import { Migration20261129090000_users_derived_user_name } from './Migration20261129090000_users_derived_user_name.ts';
import { Migration20261201193459_confirm_token_hash } from './Migration20261201193459_confirm_token_hash.ts';
import { Migration20261201193500_idempotency_keys } from './Migration20261201193500_idempotency_keys.ts';
import { Migration20261201230304_provisioning_log } from './Migration20261201230304_provisioning_log.ts';
import { Migration20261201231500_group_member_versions } from './Migration20261201231500_group_member_versions.ts';
import { Migration20261201231815_operation_targets } from './Migration20261201231815_operation_targets.ts';
import { Migration20261201233000_group_membership_display } from './Migration20261201233000_group_membership_display.ts';
import { Migration20261201233000_scim_paging_indexes } from './Migration20261201233000_scim_paging_indexes.ts';
import { Migration20261202000000_group_memberships_tenant } from './Migration20261202000000_group_memberships_tenant.ts';

/**
 * Every migration, in order. Listed explicitly (not globbed) so they run the same under any
 * loader. To add one: change the entities, then `npm run migration:create`, and list the new
 * file here.
 */
export const MIGRATIONS: MigrationObject[] = [
  { name: 'Migration20261125180819', class: Migration20261125180819 },
  { name: 'Migration20261125182000_tasks_notify', class: Migration20261125182000_tasks_notify },
  { name: 'Migration20261125183000_device_clear_history', class: Migration20261125183000_device_clear_history },
  { name: 'Migration20261126090000_users_idp_deleted_at', class: Migration20261126090000_users_idp_deleted_at },
  { name: 'Migration20261127235117_api_tokens_user_idx', class: Migration20261127235117_api_tokens_user_idx },
  { name: 'Migration20261128000456_operator_sessions', class: Migration20261128000456_operator_sessions },
  { name: 'Migration20261128004800_user_list_search', class: Migration20261128004800_user_list_search },
  { name: 'Migration20261128014500_guard_alert_task', class: Migration20261128014500_guard_alert_task },
  { name: 'Migration20261128030000_guard_count_indexes', class: Migration20261128030000_guard_count_indexes },
  { name: 'Migration20261129090000_users_derived_user_name', class: Migration20261129090000_users_derived_user_name },
  { name: 'Migration20261201193459_confirm_token_hash', class: Migration20261201193459_confirm_token_hash },
  { name: 'Migration20261201193500_idempotency_keys', class: Migration20261201193500_idempotency_keys },
  { name: 'Migration20261201230304_provisioning_log', class: Migration20261201230304_provisioning_log },
  { name: 'Migration20261201231500_group_member_versions', class: Migration20261201231500_group_member_versions },
  { name: 'Migration20261201231815_operation_targets', class: Migration20261201231815_operation_targets },
  { name: 'Migration20261201233000_group_membership_display', class: Migration20261201233000_group_membership_display },
  { name: 'Migration20261201233000_scim_paging_indexes', class: Migration20261201233000_scim_paging_indexes },
  { name: 'Migration20261202000000_group_memberships_tenant', class: Migration20261202000000_group_memberships_tenant },
];
