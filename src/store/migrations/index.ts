import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261125180424 } from './Migration20261125180424.ts';

/**
 * Every migration, in order. Listed explicitly (not globbed) so they run the same under any
 * loader. `npm run migration:create` writes a new file from the entity changes; add it here.
 */
export const MIGRATIONS: MigrationObject[] = [{ name: 'Migration20261125180424', class: Migration20261125180424 }];
