import { Anchor, Button, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client.ts';
import type { Task } from '../api/operations.ts';
import { ErrorNotice } from '../components/ErrorNotice.tsx';
import { SkipPendingDataConfirm } from '../components/SkipPendingDataConfirm.tsx';

/** Task states a person may need to look at, in the inbox's words. */
const STATE_LABELS: Record<string, string> = {
  needs_decision: 'Needs decision',
  held: 'Held for approval',
  failed: 'Failed',
  waiting_for_device: 'Waiting for device',
};

/** Work that needs a person (needs_decision, held, failed) or waits on a device, as an inbox with its actions. */
export function Work({ canApprove }: { canApprove: boolean }) {
  const queryClient = useQueryClient();
  const inbox = useQuery({
    queryKey: ['tasks', 'inbox'],
    queryFn: () => unwrap(api.GET('/tasks', { params: { query: { state: 'needs_decision,held,failed,waiting_for_device', limit: 100 } } })),
    refetchInterval: 5000,
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['tasks'] });
  const retry = useMutation({ mutationFn: (id: string) => unwrap(api.POST('/tasks/{id}/retry', { params: { path: { id } } })), onSuccess: refresh });
  const skip = useMutation({
    mutationFn: (id: string) => unwrap(api.POST('/tasks/{id}/skip-pending-data', { params: { path: { id } }, body: { confirmDataLoss: true } })),
    onSuccess: () => {
      setSkipping(null);
      void refresh();
    },
  });
  const decide = useMutation({
    mutationFn: ({ decision, taskIds }: { decision: 'approve' | 'reject'; taskIds?: string[] }) =>
      unwrap(decision === 'approve' ? api.POST('/tasks/held/approve', { body: taskIds ? { taskIds } : {} }) : api.POST('/tasks/held/reject', { body: taskIds ? { taskIds } : {} })),
    onSuccess: refresh,
  });
  const [skipping, setSkipping] = useState<Task | null>(null);
  const operations = useQuery({
    queryKey: ['operations'],
    queryFn: () => unwrap(api.GET('/operations', { params: { query: { limit: 20 } } })),
    refetchInterval: (query) => (query.state.data?.operations.some((o) => o.state === 'running') ? 1000 : 10_000),
  });
  const tasks = inbox.data?.tasks ?? [];
  return (
    <Stack>
      <Title order={2}>Work</Title>
      <ErrorNotice error={inbox.error ?? retry.error ?? skip.error ?? decide.error} />
      {canApprove && tasks.some((t) => t.state === 'held') ? (
        <Group>
          <Text>Held by the mass-deprovision guard: the identity provider asked to cut these users off.</Text>
          <Button size="xs" color="red" loading={decide.isPending} onClick={() => decide.mutate({ decision: 'approve' })}>
            Approve all held
          </Button>
          <Button size="xs" variant="default" loading={decide.isPending} onClick={() => decide.mutate({ decision: 'reject' })}>
            Reject all held
          </Button>
        </Group>
      ) : null}
      {inbox.isSuccess && !tasks.length ? <Text c="dimmed">Nothing needs a person right now.</Text> : null}
      {tasks.length ? (
        <Table.ScrollContainer minWidth={640}>
          <Table aria-label="Tasks that need a person">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>User</Table.Th>
                <Table.Th>Task</Table.Th>
                <Table.Th>State</Table.Th>
                <Table.Th>Why</Table.Th>
                <Table.Th>Actions</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {tasks.map((task) => (
                <Table.Tr key={task.id}>
                  <Table.Td>
                    {task.userId ? (
                      <>
                        <Anchor component={Link} to={`/users/${task.userId}`}>
                          {task.user?.name || task.user?.userName || 'a purged user'}
                        </Anchor>
                        {task.user?.name && task.user.userName ? <Text size="sm">{task.user.userName}</Text> : null}
                        {task.user?.department ? <Text size="sm" c="dimmed">{task.user.department}</Text> : null}
                      </>
                    ) : (
                      '—'
                    )}
                  </Table.Td>
                  <Table.Td>{task.type.replaceAll('_', ' ')}</Table.Td>
                  <Table.Td>{STATE_LABELS[task.state] ?? task.state.replaceAll('_', ' ')}</Table.Td>
                  <Table.Td style={{ overflowWrap: 'anywhere' }}>{task.reasonText ?? task.lastError}</Table.Td>
                  <Table.Td>
                    <Group gap="xs">
                      {task.state === 'failed' || task.state === 'needs_decision' || task.state === 'waiting_for_device' ? (
                        <Button size="xs" variant="light" loading={retry.isPending && retry.variables === task.id} onClick={() => retry.mutate(task.id)}>
                          Retry
                        </Button>
                      ) : null}
                      {task.state === 'held' && canApprove ? (
                        <>
                          <Button size="xs" color="red" variant="light" onClick={() => decide.mutate({ decision: 'approve', taskIds: [task.id] })}>
                            Approve
                          </Button>
                          <Button size="xs" variant="default" onClick={() => decide.mutate({ decision: 'reject', taskIds: [task.id] })}>
                            Reject
                          </Button>
                        </>
                      ) : null}
                      {task.type === 'reset' && task.state === 'needs_decision' ? (
                        <Button size="xs" color="red" variant="light" onClick={() => setSkipping(task)}>
                          Skip Pending Data
                        </Button>
                      ) : null}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      ) : null}
      <Title order={3} size="h4">
        Operations
      </Title>
      <ErrorNotice error={operations.error} />
      {operations.isSuccess && !operations.data.operations.length ? <Text c="dimmed">No operations yet.</Text> : null}
      {operations.data?.operations.length ? (
        <Table aria-label="Recent operations">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Started</Table.Th>
              <Table.Th>Action</Table.Th>
              <Table.Th>By</Table.Th>
              <Table.Th>Progress</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {operations.data.operations.map((o) => (
              <Table.Tr key={o.id}>
                <Table.Td>{new Date(o.createdAt).toLocaleString()}</Table.Td>
                <Table.Td>{o.action.replaceAll('_', ' ')}</Table.Td>
                <Table.Td>{o.actorName}</Table.Td>
                <Table.Td>
                  {o.state === 'completed' ? 'completed' : 'running'}: {o.counts.succeeded} succeeded, {o.counts.failed} failed, {o.counts.waiting} waiting,{' '}
                  {o.counts.running + o.counts.queued} to run, of {o.counts.total}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
      {skipping ? <SkipPendingDataConfirm busy={skip.isPending} onConfirm={() => skip.mutate(skipping.id)} onBack={() => setSkipping(null)} /> : null}
    </Stack>
  );
}
