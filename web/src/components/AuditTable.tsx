import { Anchor, Table, Text } from '@mantine/core';
import { Link } from 'react-router';
import type { components } from '../api/schema';
import { STATUS_LABELS, ROLE_LABELS, type UserStatus } from '../labels.ts';

type AuditEntry = components['schemas']['AuditEntry'];

/** Audit entries, newest first: the Audit screen shows user and details too, a user's history not. */
export function AuditTable({ entries, label, withUserAndDetails = false }: { entries: AuditEntry[]; label: string; withUserAndDetails?: boolean }) {
  return (
    <Table.ScrollContainer minWidth={0}>
      <Table aria-label={label} striped={withUserAndDetails} layout="fixed">
        <Table.Thead>
          <Table.Tr>
            <Table.Th w="22%">When</Table.Th>
            <Table.Th>Action</Table.Th>
            <Table.Th>Actor</Table.Th>
            {withUserAndDetails ? (
              <>
                <Table.Th>User</Table.Th>
                <Table.Th w="30%">Details</Table.Th>
              </>
            ) : null}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {entries.map((e) => (
            <Table.Tr key={e.id}>
              <Table.Td>{new Date(e.at).toLocaleString()}</Table.Td>
              <Table.Td style={{ overflowWrap: 'anywhere' }}>
                {e.action}
                {!withUserAndDetails ? <Changes details={e.details} /> : null}
              </Table.Td>
              <Table.Td style={{ overflowWrap: 'anywhere' }}>{e.actorName}</Table.Td>
              {withUserAndDetails ? (
                <>
                  <Table.Td style={{ overflowWrap: 'anywhere' }}>
                    {e.userId ? (
                      <Anchor component={Link} to={`/users/${e.userId}`}>
                        {e.user?.name || e.user?.userName || 'a purged user'}
                      </Anchor>
                    ) : (
                      '—'
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Changes details={e.details} />
                    <Details details={e.details} />
                  </Table.Td>
                </>
              ) : null}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** The before/after pairs an entry records (status from/to, role), in words. */
function Changes({ details }: { details: Record<string, unknown> }) {
  const pairs = changePairs(details);
  if (!pairs.length) return null;
  return (
    <Text size="sm" c="dimmed">
      {pairs.map(([field, before, after]) => `${field}: ${before} → ${after}`).join('; ')}
    </Text>
  );
}

export function changePairs(details: Record<string, unknown>): Array<[string, string, string]> {
  const status = (v: unknown) => STATUS_LABELS[v as UserStatus]?.label ?? String(v);
  const role = (v: unknown) => ROLE_LABELS[v as keyof typeof ROLE_LABELS] ?? String(v);
  const pairs: Array<[string, string, string]> = [];
  if (typeof details.from === 'string' && typeof details.to === 'string' && details.from !== details.to) pairs.push(['Status', status(details.from), status(details.to)]);
  if (details.fromRole !== undefined && details.toRole !== undefined) pairs.push(['Role', role(details.fromRole), role(details.toRole)]);
  // A SCIM update's single values: { before: { title: 'Engineer' }, after: { title: 'Manager' } }.
  const before = details.before as Record<string, unknown> | undefined;
  const after = details.after as Record<string, unknown> | undefined;
  const shown = (v: unknown) => (v === null || v === undefined || v === '' ? '(none)' : String(v));
  for (const field of Object.keys(after ?? {})) pairs.push([field, shown(before?.[field]), shown(after?.[field])]);
  return pairs;
}

/** Everything else, folded: an entry's details can be long (a reset's options, a bulk's counts). */
function Details({ details }: { details: Record<string, unknown> }) {
  const keys = Object.keys(details);
  if (!keys.length) return null;
  return (
    <details>
      <summary>{keys.length === 1 ? '1 detail' : `${keys.length} details`}</summary>
      <Text component="pre" size="xs" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere', margin: 0 }}>
        {JSON.stringify(details, null, 2)}
      </Text>
    </details>
  );
}
