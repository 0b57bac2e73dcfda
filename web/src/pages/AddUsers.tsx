import { ActionIcon, Alert, Button, Checkbox, FileInput, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { api, toApiError } from '../api/client.ts';
import type { components } from '../api/schema';
import { ErrorNotice } from '../components/ErrorNotice.tsx';
import { ROLE_LABELS, type User } from '../labels.ts';

type Row = { firstName: string; lastName: string; email: string; role: User['role']; extension: string; sendWelcome: boolean };
const emptyRow = (): Row => ({ firstName: '', lastName: '', email: '', role: 'basic_user', extension: '', sendWelcome: true });
const COLUMNS = ['firstName', 'lastName', 'email', 'role', 'extension', 'sendWelcome'] as const;

/** RFC 4180 quoting: a field with a comma, quote or line break is quoted, quotes doubled. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * Add users: one or many rows typed in (the plus button adds a row), or a CSV file;
 * both go through the API's CSV import, which answers per row (created, or why not, by line).
 */
export function AddUsers() {
  const [rows, setRows] = useState<Row[]>([emptyRow()]);
  const [file, setFile] = useState<File | null>(null);
  const upload = useMutation({
    mutationFn: async (csv: string) => {
      const { data, error, response } = await api.POST('/users/import', {
        body: csv,
        bodySerializer: (body: string) => body,
        headers: { 'Content-Type': 'text/csv' },
      });
      if (!response.ok) throw toApiError(response, error);
      return data as components['schemas']['ImportResult'];
    },
  });
  const fromRows = () =>
    [COLUMNS.join(','), ...rows.filter((r) => r.firstName || r.lastName || r.email).map((r) => COLUMNS.map((c) => csvField(String(r[c]))).join(','))].join('\n');
  const set = (i: number, patch: Partial<Row>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const result = upload.data;
  return (
    <Stack>
      <Title order={2}>Add users</Title>
      <Table.ScrollContainer minWidth={760}>
        <Table aria-label="New users">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>First Name</Table.Th>
              <Table.Th>Last Name</Table.Th>
              <Table.Th>Email</Table.Th>
              <Table.Th>Role</Table.Th>
              <Table.Th>Extension</Table.Th>
              <Table.Th>Send Welcome Email</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((r, i) => (
              <Table.Tr key={i}>
                <Table.Td>
                  <TextInput aria-label={`First Name, row ${i + 1}`} value={r.firstName} onChange={(e) => set(i, { firstName: e.currentTarget.value })} />
                </Table.Td>
                <Table.Td>
                  <TextInput aria-label={`Last Name, row ${i + 1}`} value={r.lastName} onChange={(e) => set(i, { lastName: e.currentTarget.value })} />
                </Table.Td>
                <Table.Td>
                  <TextInput aria-label={`Email, row ${i + 1}`} type="email" value={r.email} onChange={(e) => set(i, { email: e.currentTarget.value })} />
                </Table.Td>
                <Table.Td>
                  <Select
                    aria-label={`Role, row ${i + 1}`}
                    data={Object.entries(ROLE_LABELS).map(([value, label]) => ({ value, label }))}
                    value={r.role}
                    allowDeselect={false}
                    onChange={(v) => v && set(i, { role: v as User['role'] })}
                  />
                </Table.Td>
                <Table.Td>
                  <TextInput aria-label={`Extension, row ${i + 1}`} value={r.extension} onChange={(e) => set(i, { extension: e.currentTarget.value })} />
                </Table.Td>
                <Table.Td>
                  <Checkbox aria-label={`Send Welcome Email, row ${i + 1}`} checked={r.sendWelcome} onChange={(e) => set(i, { sendWelcome: e.currentTarget.checked })} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <Group>
        <ActionIcon variant="default" size="lg" aria-label="Add a row" onClick={() => setRows([...rows, emptyRow()])}>
          +
        </ActionIcon>
        <Button loading={upload.isPending} onClick={() => upload.mutate(fromRows())}>
          Add
        </Button>
      </Group>
      <Group align="flex-end">
        <FileInput label="Import a CSV file" description="Header row: firstName,lastName,email,role,extension,department,phone,sendWelcome" accept=".csv,text/csv" value={file} onChange={setFile} w={{ base: '100%', sm: 420 }} />
        <Button variant="light" disabled={!file} loading={upload.isPending} onClick={async () => file && upload.mutate(await file.text())}>
          Import
        </Button>
      </Group>
      <ErrorNotice error={upload.error} />
      {result ? (
        <Stack gap="xs" aria-live="polite">
          <Alert color={result.failed ? 'yellow' : 'green'} title={`${result.created} created, ${result.failed} not created`}>
            {result.stopped ? `Stopped at line ${result.stopped.line ?? '?'}: ${result.stopped.reason}` : null}
          </Alert>
          <Table aria-label="Import results">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Line</Table.Th>
                <Table.Th>Result</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {result.rows.map((row) => (
                <Table.Tr key={row.line}>
                  <Table.Td>{row.line}</Table.Td>
                  <Table.Td>
                    {row.ok ? (
                      <Text>created {row.userName}</Text>
                    ) : (
                      <Text fw={500}>
                        not created: 
                        {row.error?.message}
                        {row.error?.issues?.length ? `: ${row.error.issues.map((i) => `${i.column} ${i.message}`).join('; ')}` : ''}
                      </Text>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Stack>
      ) : null}
    </Stack>
  );
}
