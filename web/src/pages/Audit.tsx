import { Button, Group, Stack, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../api/client.ts';
import { AuditTable } from '../components/AuditTable.tsx';
import { ErrorNotice } from '../components/ErrorNotice.tsx';

/** The audit trail, newest first, filtered by user, actor, action and time. */
export function Audit() {
  const [filters, setFilters] = useState({ userId: '', actor: '', action: '', since: '', until: '' });
  const [debounced] = useDebouncedValue(filters, 300);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const query = Object.fromEntries(
    Object.entries({ ...debounced, since: toIso(debounced.since), until: toIso(debounced.until) }).filter(([, v]) => v),
  );
  const audit = useQuery({
    queryKey: ['audit', query, cursor],
    queryFn: () => unwrap(api.GET('/audit', { params: { query: { ...query, ...(cursor ? { cursor } : {}), limit: 50 } } })),
    placeholderData: keepPreviousData,
  });
  const set = (key: keyof typeof filters) => (e: { currentTarget: { value: string } }) => {
    setFilters({ ...filters, [key]: e.currentTarget.value });
    setCursors([]);
  };
  return (
    <Stack>
      <Title order={2}>Audit</Title>
      <Group>
        <TextInput label="User id" value={filters.userId} onChange={set('userId')} />
        <TextInput label="Actor" placeholder="operator:…, scim:…, admin:…" value={filters.actor} onChange={set('actor')} />
        <TextInput label="Action" placeholder="user.ban, task., …" value={filters.action} onChange={set('action')} />
        <TextInput label="Since" type="datetime-local" value={filters.since} onChange={set('since')} />
        <TextInput label="Until" type="datetime-local" value={filters.until} onChange={set('until')} />
      </Group>
      <ErrorNotice error={audit.error} />
      <AuditTable entries={audit.data?.entries ?? []} label="Audit trail" withUserAndDetails />
      <Group>
        <Button variant="default" disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </Button>
        <Button variant="default" disabled={!audit.data?.nextCursor} onClick={() => audit.data?.nextCursor && setCursors([...cursors, audit.data.nextCursor])}>
          Older
        </Button>
      </Group>
    </Stack>
  );
}

function toIso(local: string): string {
  return local ? new Date(local).toISOString() : '';
}
