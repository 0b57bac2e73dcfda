import { Anchor, Badge, Button, Card, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMediaQuery } from '@mantine/hooks';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../api/client.ts';
import type { components } from '../api/schema';
import { ErrorNotice } from '../components/ErrorNotice.tsx';
import { personName } from '../labels.ts';

type Entry = components['schemas']['ProvisioningLogEntry'];
type Outcome = Entry['outcome'];

/** How a request ended, in words (Entra's "Success" / "Failure"; a 4xx is the request refused). */
const OUTCOMES: Record<Outcome, { label: string; color: string }> = {
  ok: { label: 'Success', color: 'green' },
  client_error: { label: 'Refused', color: 'orange' },
  server_error: { label: 'Failed', color: 'red' },
};

const OPERATIONS: Record<NonNullable<Entry['operation']>, string> = {
  create: 'Create',
  replace: 'Replace',
  patch: 'Update',
  delete: 'Delete',
  get: 'Read',
  list: 'Look up',
};

/**
 * Every SCIM request the identity providers sent, newest first, as Entra's provisioning logs show
 * them: by user (`?userId=`, the user page links here), outcome and time.
 */
export function ProvisioningLog() {
  const [params, setParams] = useSearchParams();
  const userId = params.get('userId') ?? '';
  const [outcome, setOutcome] = useState<Outcome | 'all'>('all');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const query = {
    ...(userId ? { userId } : {}),
    ...(outcome !== 'all' ? { outcome } : {}),
    ...(from ? { from: new Date(from).toISOString() } : {}),
    ...(to ? { to: new Date(to).toISOString() } : {}),
  };
  const log = useQuery({
    queryKey: ['provisioning-log', query, cursor],
    queryFn: () => unwrap(api.GET('/provisioning-log', { params: { query: { ...query, ...(cursor ? { cursor } : {}), limit: 50 } } })),
    placeholderData: keepPreviousData,
  });
  const user = useQuery({
    queryKey: ['user', userId],
    queryFn: () => unwrap(api.GET('/users/{id}', { params: { path: { id: userId } } })),
    enabled: Boolean(userId),
  });
  const changed = (set: (v: string) => void) => (e: { currentTarget: { value: string } }) => {
    set(e.currentTarget.value);
    setCursors([]);
  };
  const entries = log.data?.entries ?? [];
  // Mantine's `sm` breakpoint, where the table would no longer fit.
  const narrow = useMediaQuery('(max-width: 48em)');
  return (
    <Stack>
      <Title order={2}>Provisioning log</Title>
      <Text c="dimmed">Every request your identity providers sent over SCIM, with what it touched and how it ended.</Text>
      {userId ? (
        <Group gap="xs">
          <Text>
            SCIM history of{' '}
            <Anchor component={Link} to={`/users/${userId}`}>
              {user.data ? personName(user.data) || user.data.userName || 'this user' : 'this user'}
            </Anchor>
          </Text>
          <Button
            variant="subtle"
            size="xs"
            onClick={() => {
              setParams({});
              setCursors([]);
            }}
          >
            Show every user
          </Button>
        </Group>
      ) : null}
      <Group align="end">
        <Select
          label="Outcome"
          value={outcome}
          allowDeselect={false}
          data={[{ value: 'all', label: 'All outcomes' }, ...Object.entries(OUTCOMES).map(([value, { label }]) => ({ value, label }))]}
          onChange={(value) => {
            setOutcome((value ?? 'all') as Outcome | 'all');
            setCursors([]);
          }}
        />
        <TextInput label="From" type="datetime-local" value={from} onChange={changed(setFrom)} />
        <TextInput label="To" type="datetime-local" value={to} onChange={changed(setTo)} />
      </Group>
      <ErrorNotice error={log.error} />
      {narrow ? <EntryCards entries={entries} /> : <EntryTable entries={entries} />}
      {log.isSuccess && !entries.length ? <Text>No SCIM requests match.</Text> : null}
      <Group>
        <Button variant="default" disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </Button>
        <Button variant="default" disabled={!log.data?.nextCursor} onClick={() => log.data?.nextCursor && setCursors([...cursors, log.data.nextCursor])}>
          Older
        </Button>
      </Group>
    </Stack>
  );
}

/** One request in words: what each column (or line of a card) shows. */
function describe(e: Entry) {
  const kind = e.resourceType === 'User' ? 'user' : e.resourceType === 'Group' ? 'group' : null;
  const name = e.resourceName ?? (e.resourceId ? `${kind ?? 'resource'} ${e.resourceId.slice(0, 8)}` : '—');
  const outcome = OUTCOMES[e.outcome];
  return {
    when: new Date(e.at).toLocaleString(),
    connection: e.tokenName ?? (e.tokenPrefix ? `Token ${e.tokenPrefix}…` : 'Unknown token'),
    action: e.operation && kind ? `${OPERATIONS[e.operation]} ${e.operation === 'list' ? `${kind}s` : kind}` : `${e.method} ${e.resourceType ?? e.path}`,
    request: `${e.method} ${e.path}`,
    target:
      e.resourceType === 'User' && e.resourceId ? (
        <Anchor component={Link} to={`/users/${e.resourceId}`}>
          {name}
        </Anchor>
      ) : (
        name
      ),
    outcome: (
      <Badge color={outcome.color} variant="light" c="var(--mantine-color-text)" style={{ flexShrink: 0 }}>
        {outcome.label} · {e.status}
      </Badge>
    ),
    details: (
      <Stack gap={2}>
        {e.detail ? (
          <Text size="sm">
            {e.scimType ? <strong>{e.scimType}: </strong> : null}
            {e.detail}
          </Text>
        ) : null}
        {e.attributes?.length ? <Text size="xs">Attributes: {e.attributes.join(', ')}</Text> : null}
        {e.filter ? <Text size="xs">Filter: {e.filter}</Text> : null}
        <Text size="xs" c="dimmed">
          {[e.requestId ? `Request id ${e.requestId}` : null, `${Math.round(e.durationMs)} ms`].filter(Boolean).join(' · ')}
        </Text>
      </Stack>
    ),
  };
}

/** Wide windows: a table, one request a row. */
function EntryTable({ entries }: { entries: Entry[] }) {
  return (
    <Table aria-label="Provisioning log" striped verticalSpacing="xs">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>When</Table.Th>
          <Table.Th>Connection</Table.Th>
          <Table.Th>Action</Table.Th>
          <Table.Th>Target</Table.Th>
          <Table.Th>Outcome</Table.Th>
          <Table.Th>Details</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {entries.map((entry) => {
          const d = describe(entry);
          return (
            <Table.Tr key={entry.id} data-testid="provisioning-entry">
              <Table.Td>{d.when}</Table.Td>
              <Table.Td>{d.connection}</Table.Td>
              <Table.Td>
                <Text size="sm">{d.action}</Text>
                <Text size="xs" c="dimmed">
                  {d.request}
                </Text>
              </Table.Td>
              <Table.Td>{d.target}</Table.Td>
              <Table.Td>{d.outcome}</Table.Td>
              <Table.Td>{d.details}</Table.Td>
            </Table.Tr>
          );
        })}
      </Table.Tbody>
    </Table>
  );
}

/** Phones: a card a request, outcome first, nothing to scroll sideways. */
function EntryCards({ entries }: { entries: Entry[] }) {
  return (
    <Stack component="ul" aria-label="Provisioning log" gap="xs" p={0} m={0} style={{ listStyle: 'none' }}>
      {entries.map((entry) => {
        const d = describe(entry);
        return (
          <Card component="li" key={entry.id} withBorder padding="sm" data-testid="provisioning-entry">
            <Group justify="space-between" wrap="nowrap" align="start">
              <Text size="sm" fw={600}>
                {d.action}: {d.target}
              </Text>
              {d.outcome}
            </Group>
            <Text size="xs" c="dimmed">
              {d.when} · {d.connection} · {d.request}
            </Text>
            {d.details}
          </Card>
        );
      })}
    </Stack>
  );
}
