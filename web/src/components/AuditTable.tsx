import { Table } from '@mantine/core';
import type { components } from '../api/schema';

type AuditEntry = components['schemas']['AuditEntry'];

/** Audit entries, newest first: the Audit screen shows user and details too, a user's history not. */
export function AuditTable({ entries, label, withUserAndDetails = false }: { entries: AuditEntry[]; label: string; withUserAndDetails?: boolean }) {
  return (
    <Table aria-label={label} striped={withUserAndDetails}>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>When</Table.Th>
          <Table.Th>Action</Table.Th>
          <Table.Th>Actor</Table.Th>
          {withUserAndDetails ? (
            <>
              <Table.Th>User</Table.Th>
              <Table.Th>Details</Table.Th>
            </>
          ) : null}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {entries.map((e) => (
          <Table.Tr key={e.id}>
            <Table.Td>{new Date(e.at).toLocaleString()}</Table.Td>
            <Table.Td>{e.action}</Table.Td>
            <Table.Td>{e.actor}</Table.Td>
            {withUserAndDetails ? (
              <>
                <Table.Td>{e.userId}</Table.Td>
                <Table.Td>
                  <code>{JSON.stringify(e.details)}</code>
                </Table.Td>
              </>
            ) : null}
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
