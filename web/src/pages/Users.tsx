import { Alert, Anchor, Button, Checkbox, Group, Loader, Pagination, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client.ts';
import type { components } from '../api/schema';
import { BulkActionModal } from '../components/BulkActionModal.tsx';
import { ErrorNotice } from '../components/ErrorNotice.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { personName, ROLE_LABELS, STATUS_LABELS, type User, type UserStatus } from '../labels.ts';

const PAGE_SIZE = 50;
/** The "Inactive for" choices, in days (no check-in, sign-in or status change for that long). */
const INACTIVE_DAYS = [30, 60, 90, 180, 365];

type UserSelection = components['schemas']['UserSelection'];

/**
 * The User List: server-side search, status and inactivity filters, cursor paging (the cursors of
 * pages seen so far are kept, so Back is one request), row checkboxes, select-all on the page,
 * then "select all N matching" (the list's filters become the operation's selection, resolved by
 * its dry run), and "Bulk Action" once a row is checked.
 */
export function Users() {
  const [search, setSearch] = useState('');
  const [q] = useDebouncedValue(search.trim(), 250);
  const [status, setStatus] = useState<UserStatus | null>(null);
  const [inactiveDays, setInactiveDays] = useState<string | null>(null);
  // Fixed when chosen, so paging and the count ask about the same instant.
  const [inactiveSince, setInactiveSince] = useState<string | null>(null);
  // Every user the filters match, as the list stood when "select all" was pressed.
  const [allMatching, setAllMatching] = useState<UserSelection | null>(null);
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const [page, setPage] = useState(1);
  const [selected, setSelected] = useState<Map<string, User>>(new Map());
  const [bulkOpen, setBulkOpen] = useState(false);

  const resetPaging = () => {
    setCursors([null]);
    setPage(1);
    setAllMatching(null);
  };
  const filter: UserSelection = { ...(q ? { q } : {}), ...(status ? { status } : {}), ...(inactiveSince ? { inactiveSince } : {}) };
  const cursor = cursors[page - 1] ?? null;
  const list = useQuery({
    queryKey: ['users', { ...filter, cursor }],
    queryFn: () => unwrap(api.GET('/users', { params: { query: { limit: PAGE_SIZE, ...filter, ...(cursor ? { cursor } : {}) } } })),
    placeholderData: keepPreviousData,
  });
  const users = list.data?.users ?? [];
  const nextCursor = list.data?.nextCursor ?? null;
  // Pages seen so far, plus the next one when the server says there is one.
  const pages = Math.max(cursors.length, nextCursor ? page + 1 : page);

  const goTo = (target: number) => {
    if (target === page + 1 && nextCursor && cursors.length === page) setCursors([...cursors, nextCursor]);
    setPage(target);
  };
  const allOnPage = users.length > 0 && users.every((u) => selected.has(u.id));
  // The N of "select all N matching": asked once the whole page is ticked and there is more than a page.
  const matching = useQuery({
    queryKey: ['users-count', filter],
    queryFn: () => unwrap(api.GET('/users/count', { params: { query: filter } })),
    enabled: allOnPage && (nextCursor !== null || page > 1),
  });
  const matchingCount = matching.data?.count ?? 0;
  const toggleAll = () => {
    setAllMatching(null);
    const next = new Map(selected);
    for (const u of users) {
      if (allOnPage) next.delete(u.id);
      else next.set(u.id, u);
    }
    setSelected(next);
  };
  const toggle = (user: User) => {
    setAllMatching(null);
    const next = new Map(selected);
    if (next.has(user.id)) next.delete(user.id);
    else next.set(user.id, user);
    setSelected(next);
  };

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Users</Title>
        <Group>
          <Button variant="default" component={Link} to="/add">
            Add
          </Button>
          <Button variant="default" component={Link} to="/add#import">
            Import
          </Button>
          <Button disabled={!allMatching && selected.size === 0} onClick={() => setBulkOpen(true)}>
            Bulk Action{allMatching ? ` (${matchingCount})` : selected.size ? ` (${selected.size})` : ''}
          </Button>
        </Group>
      </Group>
      <Group>
        <TextInput
          label="Search"
          placeholder="Name, email, user name or extension"
          value={search}
          onChange={(e) => {
            setSearch(e.currentTarget.value);
            resetPaging();
          }}
          w={320}
        />
        <Select
          label="Status"
          placeholder="All but deleted"
          clearable
          data={Object.entries(STATUS_LABELS).map(([value, { label }]) => ({ value, label }))}
          value={status}
          onChange={(value) => {
            setStatus(value as UserStatus | null);
            resetPaging();
          }}
          w={220}
        />
        <Select
          label="Inactive for"
          placeholder="Any activity"
          clearable
          data={INACTIVE_DAYS.map((days) => ({ value: String(days), label: `${days} days or more` }))}
          value={inactiveDays}
          onChange={(value) => {
            setInactiveDays(value);
            setInactiveSince(value ? new Date(Date.now() - Number(value) * 86_400_000).toISOString() : null);
            resetPaging();
          }}
          w={220}
        />
      </Group>
      <ErrorNotice error={list.error ?? matching.error} />
      {allMatching ? (
        <Alert color="blue" aria-live="polite">
          <Group justify="space-between">
            <Text size="sm">All {matchingCount} users matching the filters are selected.</Text>
            <Button size="xs" variant="default" onClick={() => { setAllMatching(null); setSelected(new Map()); }}>
              Clear selection
            </Button>
          </Group>
        </Alert>
      ) : allOnPage && matchingCount > users.length ? (
        <Alert color="blue" aria-live="polite">
          <Group justify="space-between">
            <Text size="sm">All {users.length} users on this page are selected.</Text>
            <Button size="xs" variant="light" onClick={() => setAllMatching(filter)}>
              Select all {matchingCount} matching
            </Button>
          </Group>
        </Alert>
      ) : null}
      <Table.ScrollContainer minWidth={720}>
        <Table striped highlightOnHover aria-busy={list.isFetching} aria-label="Users">
          <Table.Thead>
            <Table.Tr>
              <Table.Th w={40}>
                <Checkbox aria-label="Select all users on this page" checked={allOnPage || allMatching !== null} onChange={toggleAll} disabled={!users.length} />
              </Table.Th>
              <Table.Th>Name</Table.Th>
              <Table.Th>User name</Table.Th>
              <Table.Th>Extension</Table.Th>
              <Table.Th>Department</Table.Th>
              <Table.Th>Role</Table.Th>
              <Table.Th>Status</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {users.map((user) => (
              <Table.Tr key={user.id}>
                <Table.Td>
                  <Checkbox aria-label={`Select ${user.userName ?? user.extension ?? user.id}`} checked={allMatching !== null || selected.has(user.id)} onChange={() => toggle(user)} />
                </Table.Td>
                <Table.Td>
                  <Anchor component={Link} to={`/users/${user.id}`}>
                    {personName(user) || '(no name)'}
                  </Anchor>
                </Table.Td>
                <Table.Td>{user.userName}</Table.Td>
                <Table.Td>{user.extension}</Table.Td>
                <Table.Td>{user.department}</Table.Td>
                <Table.Td>{ROLE_LABELS[user.role]}</Table.Td>
                <Table.Td>
                  <StatusBadge status={user.status} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {list.isPending ? <Loader aria-label="Loading users" /> : null}
      {!list.isPending && !users.length && !list.error ? <Text c="dimmed">No users match.</Text> : null}
      <Pagination
        total={pages}
        value={page}
        onChange={goTo}
        aria-label="Pages"
        getItemProps={(n) => ({ 'aria-label': `Page ${n}` })}
        getControlProps={(control) => ({ 'aria-label': `${control[0]!.toUpperCase()}${control.slice(1)} page` })}
      />
      {bulkOpen ? (
        <BulkActionModal
          users={[...selected.values()]}
          selection={allMatching ? { filter: allMatching, count: matchingCount } : undefined}
          onClose={(finished) => {
            setBulkOpen(false);
            if (finished) {
              setSelected(new Map());
              setAllMatching(null);
              void list.refetch();
            }
          }}
        />
      ) : null}
    </Stack>
  );
}
