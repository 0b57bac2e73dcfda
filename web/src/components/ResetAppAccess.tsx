import { Alert, Button, Group, Loader, Modal, Stack, Text } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, unwrap } from '../api/client.ts';
import { getOperation, runOperation } from '../api/operations.ts';
import type { User } from '../labels.ts';
import { Credentials } from '../pages/UserDetail.tsx';
import { ErrorNotice } from './ErrorNotice.tsx';
import { SkipPendingDataConfirm } from './SkipPendingDataConfirm.tsx';

type Phase =
  | { name: 'start' }
  | { name: 'resetting'; operationId: string }
  | { name: 'issuing' }
  | { name: 'done'; userName: string | null; password: string };

/**
 * "Reset App Access": one reset task that checks the devices for pending data (waiting
 * with "Retry Now", or "Unable to Retrieve Results" with "Skip Pending Data" behind a data-loss
 * confirmation) and hands the seat to the person now in the details form in the same transaction
 * (so leaving the page while it waits loses nothing), then a generated password shown once with
 * "Copy".
 */
export function ResetAppAccess({ user, onClose }: { user: User; onClose: () => void }) {
  const [phase, setPhase] = useState<Phase>({ name: 'start' });
  const [confirmSkip, setConfirmSkip] = useState(false);
  const person = { firstName: user.firstName?.trim() ?? '', lastName: user.lastName?.trim() ?? '', email: user.email?.trim() ?? '' };

  const start = useMutation({
    mutationFn: () =>
      runOperation({
        action: 'reset',
        userIds: [user.id],
        handOver: { users: { [user.id]: { firstName: person.firstName, lastName: person.lastName, ...(person.email ? { email: person.email } : {}) } } },
      }),
    onSuccess: (operationId) => setPhase({ name: 'resetting', operationId }),
  });
  const progress = useQuery({
    queryKey: ['operation', phase.name === 'resetting' ? phase.operationId : ''],
    queryFn: () => getOperation((phase as Extract<Phase, { name: 'resetting' }>).operationId),
    enabled: phase.name === 'resetting',
    refetchInterval: 1000,
  });
  const task = phase.name === 'resetting' ? progress.data?.tasks[0] : undefined;
  const retry = useMutation({ mutationFn: (id: string) => unwrap(api.POST('/tasks/{id}/retry', { params: { path: { id } } })) });
  const skip = useMutation({
    mutationFn: (id: string) => unwrap(api.POST('/tasks/{id}/skip-pending-data', { params: { path: { id } }, body: { confirmDataLoss: true } })),
    onSuccess: () => setConfirmSkip(false),
  });
  const issue = useMutation({
    mutationFn: async () => {
      setPhase({ name: 'issuing' });
      const credentials = await unwrap(api.POST('/users/{id}/credentials', { params: { path: { id: user.id } } }));
      setPhase({ name: 'done', userName: credentials.userName, password: credentials.password });
    },
  });
  const resetDone = phase.name === 'resetting' && task?.state === 'succeeded';
  useEffect(() => {
    if (resetDone && issue.isIdle) issue.mutate();
  }, [resetDone, issue]);

  // The operation lists states; the task itself says how many items the devices last reported.
  const waiting = task?.state === 'waiting_for_device' || task?.state === 'needs_decision';
  const detail = useQuery({
    queryKey: ['task', task?.taskId, task?.state],
    queryFn: () => unwrap(api.GET('/tasks/{id}', { params: { path: { id: task!.taskId } } })),
    enabled: waiting,
  });
  const pending = (detail.data?.result as { pendingData?: { pendingItems?: number } } | null | undefined)?.pendingData?.pendingItems ?? 0;
  return (
    <Modal opened onClose={onClose} title="Reset App Access" size="lg" closeButtonProps={{ 'aria-label': 'Close dialog' }}>
      <Stack>
        <ErrorNotice error={start.error ?? retry.error ?? skip.error ?? issue.error} />
        {phase.name === 'start' ? (
          !person.firstName || !person.lastName ? (
            <Alert color="yellow" title="Edit the details first">
              Enter the new person's first and last name (and email) under Details and press "Submit Form": the old user must not be able to sign in with the
              new credentials.
            </Alert>
          ) : (
            <>
              <Text>
                The app access of {user.userName} is reset for {person.firstName} {person.lastName}: their apps are signed out and a new password is
                issued. Data still waiting on the user's devices is checked first.
              </Text>
              <Group justify="flex-end">
                <Button variant="default" onClick={onClose}>
                  Cancel
                </Button>
                <Button color="red" loading={start.isPending} onClick={() => start.mutate()}>
                  Reset
                </Button>
              </Group>
            </>
          )
        ) : null}

        {phase.name === 'resetting' ? (
          !task || ['pending', 'enqueued', 'running'].includes(task.state) ? (
            <Group>
              <Loader size="sm" aria-label="Checking" />
              <Text>Checking the devices for pending data…</Text>
            </Group>
          ) : task.state === 'waiting_for_device' ? (
            <Alert color="yellow" title="Waiting for the device">
              <Stack gap="xs">
                <Text>The user's phone is online and still uploading {pending} pending item(s). The reset goes on once it has uploaded them.</Text>
                <Button w="fit-content" loading={retry.isPending} onClick={() => retry.mutate(task.taskId)}>
                  Retry Now
                </Button>
              </Stack>
            </Alert>
          ) : task.state === 'needs_decision' ? (
            <Alert color="red" title="Unable to Retrieve Results">
              <Stack gap="xs">
                <Text>The user's phone is offline or the app was removed, so pending data cannot be retrieved.</Text>
                <Group>
                  <Button variant="default" loading={retry.isPending} onClick={() => retry.mutate(task.taskId)}>
                    Retry Now
                  </Button>
                  <Button color="red" onClick={() => setConfirmSkip(true)}>
                    Skip Pending Data
                  </Button>
                </Group>
              </Stack>
            </Alert>
          ) : task.state === 'failed' ? (
            <Alert color="red" title="The reset failed">
              {task.lastError}
            </Alert>
          ) : (
            <Loader size="sm" aria-label="Finishing" />
          )
        ) : null}

        {phase.name === 'issuing' ? (
          <Group>
            <Loader size="sm" aria-label="Issuing credentials" />
            <Text>The account has been reset. Issuing the new credentials…</Text>
          </Group>
        ) : null}

        {phase.name === 'done' ? (
          <>
            <Text>The account has been reset successfully. Copy the details and send them to the new user.</Text>
            <Credentials userName={phase.userName} password={phase.password} />
            <Group justify="flex-end">
              <Button onClick={onClose}>OK</Button>
            </Group>
          </>
        ) : null}
      </Stack>
      {confirmSkip && task ? (
        <SkipPendingDataConfirm pending={pending} busy={skip.isPending} onConfirm={() => skip.mutate(task.taskId)} onBack={() => setConfirmSkip(false)} />
      ) : null}
    </Modal>
  );
}
