import type { EntityManager } from '@mikro-orm/postgresql';
import { DEFAULT_TENANT_NAME, TenantSchema, type Tenant } from './entities/index.ts';

export async function findTenantByName(em: EntityManager, name: string): Promise<Tenant | null> {
  return em.findOne(TenantSchema, { name });
}

/** Creates a tenant unless one by that name exists; concurrent starters both end up with the same row. */
export async function ensureTenant(em: EntityManager, name: string): Promise<Tenant> {
  await em
    .getConnection()
    .execute(`insert into tenants (id, name, policy) values (gen_random_uuid(), ?, '{}') on conflict (name) do nothing`, [name]);
  const tenant = await findTenantByName(em, name);
  if (!tenant) throw new Error(`tenant ${name} could not be created`);
  return tenant;
}

export function ensureDefaultTenant(em: EntityManager): Promise<Tenant> {
  return ensureTenant(em, DEFAULT_TENANT_NAME);
}
