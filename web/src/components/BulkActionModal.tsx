import { Alert, Badge, Button, Checkbox, Group, List, Loader, Modal, Progress, Stack, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { labelOf, useActions, type ActionInfo } from '../api/actions.ts';
import { api, unwrap } from '../api/client.ts';
import type { components } from '../api/schema';
import { personName, STATUS_LABELS, type User } from '../labels.ts';
import { ErrorNotice } from './ErrorNotice.tsx';

type OperationRequest = components['schemas']['OperationRequest'];
type Action = OperationRequest['action'];
type Preview = components['schemas']['OperationPreview'];
type ResetOptions = Required<components['schemas']['ResetOptions']>;
type RecycleRow = { firstName: string; lastName: string; email: string; sendWelcome: boolean };
type UserSelection = components['schemas']['UserSelection'];

/** The six optional reset items in the portal's wording. */
const RESET_OPTIONS: Array<{ key: keyof ResetOptions; label: string }> = [
  { key: 'voicemailMessages', label: 'Voicemail messages (new, saved and trash)' },
  { key: 'voicemailGreetings', label: 'Voicemail greetings and recorded name' },
  { key: 'answeringRules', label: 'Answering rules (the default rule is put back)' },
  { key: 'customContacts', label: "The user's own contacts (shared contacts stay)" },
  { key: 'unassignPhoneNumber', label: 'Phone number (back to inventory as available)' },
  { key: 'removeDeviceLines', label: 'Device lines (desk phones, soft phones, mobile apps)' },
];
const ALWAYS_REMOVED = ['Name', 'Email address', 'Password', 'Voicemail PIN', 'Soft phones and app sessions'];

/** The first row's actions, each with a control of its own as the portal has them; every other action without options follows as a button. */
const OWN_CONTROLS: readonly Action[] = ['reset', 'welcome_email', 'force_password_reset'];
/** The confirm button's word where a step has a verb of its own; otherwise the action's label. */
const CONFIRM_WORDS: Partial<Record<Action, string>> = { recycle: 'Save', welcome_email: 'Send', force_password_reset: 'Reset Passwords' };
const otherActions = (actions: readonly ActionInfo[]) => actions.filter((a) => !a.takesOptions && !OWN_CONTROLS.includes(a.action));

type Step =
  | { name: 'choose' }
  | { name: 'reset' }
  | { name: 'confirm'; request: OperationRequest; preview: Preview; then?: 'recycle' }
  | { name: 'progress'; operationId: string; then?: 'recycle' }
  | { name: 'recycle' };

/**
 * "Bulk User Actions": choose an action, for a reset pick what to clear, read the dry
 * run ("The following actions will take place"), confirm, watch progress; a reset with "Recycle
 * Users" goes on to the recycle form. With `selection` (the list's "select all N matching") the
 * request names the list's filters instead of ids: the dry run counts them all and shows a
 * sample, and the confirmed run acts on the users it resolved. A recycle names a new person per
 * seat, so it needs users picked one by one.
 */
export function BulkActionModal({
  users,
  selection,
  onClose,
}: {
  users: User[];
  selection?: { filter: UserSelection; count: number } | undefined;
  onClose: (finished: boolean) => void;
}) {
  const [step, setStep] = useState<Step>({ name: 'choose' });
  const [sendRecovery, setSendRecovery] = useState(true);
  const [recycle, setRecycle] = useState(false);
  const [options, setOptions] = useState<ResetOptions | null>(null);
  const [rows, setRows] = useState<Record<string, RecycleRow>>(() =>
    Object.fromEntries(users.map((u) => [u.id, { firstName: '', lastName: '', email: '', sendWelcome: true }])),
  );
  const userIds = users.map((u) => u.id);
  const target = selection ? { selection: selection.filter } : { userIds };
  const actions = useActions();
  const settings = useQuery({ queryKey: ['settings'], queryFn: () => unwrap(api.GET('/settings')) });
  const defaults = settings.data?.policy.defaultResetOptions as ResetOptions | undefined;
  const chosen: ResetOptions = options ?? defaults ?? Object.fromEntries(RESET_OPTIONS.map((o) => [o.key, false])) as ResetOptions;

  const preview = useMutation({
    mutationFn: (request: OperationRequest) => unwrap(api.POST('/operations', { body: { ...request, dryRun: true } })) as Promise<Preview>,
  });
  const run = useMutation({
    mutationFn: (request: OperationRequest & { confirm?: string }) =>
      unwrap(api.POST('/operations', { body: request })) as Promise<components['schemas']['OperationAccepted']>,
  });

  const ask = async (request: OperationRequest, then?: 'recycle') => {
    const result = await preview.mutateAsync(request);
    setStep({ name: 'confirm', request, preview: result, ...(then ? { then } : {}) });
  };
  const confirm = async (current: Extract<Step, { name: 'confirm' }>) => {
    const accepted = await run.mutateAsync({ ...current.request, confirm: current.preview.confirmToken });
    setStep({ name: 'progress', operationId: accepted.operationId, ...(current.then ? { then: current.then } : {}) });
  };

  const title = step.name === 'recycle' ? 'Recycle Users' : step.name === 'reset' ? 'Reset Users' : 'Bulk User Actions';
  return (
    <Modal opened onClose={() => onClose(step.name === 'progress')} title={title} size="xl" closeButtonProps={{ 'aria-label': 'Close dialog' }}>
      <Stack>
        <ErrorNotice error={preview.error ?? run.error ?? actions.error} />
        {step.name === 'choose' && actions.isPending ? <Loader aria-label="Loading actions" /> : null}
        {step.name === 'choose' && actions.data ? (
          <>
            {selection ? (
              <Text>Selected users: all {selection.count} matching the list's filters.</Text>
            ) : (
              <>
                <Text>Selected users:</Text>
                <List size="sm">
                  {users.map((u) => (
                    <List.Item key={u.id}>
                      {personName(u) || '(no name)'} {u.extension ? `· ext. ${u.extension}` : ''} · {u.userName}
                    </List.Item>
                  ))}
                </List>
              </>
            )}
            <Group>
              <Button onClick={() => setStep({ name: 'reset' })}>Reset Users</Button>
              <Button variant="light" loading={preview.isPending} onClick={() => ask({ action: 'welcome_email', ...target })}>
                {labelOf(actions.data, 'welcome_email')}
              </Button>
              <Button variant="light" loading={preview.isPending} onClick={() => ask({ action: 'force_password_reset', ...target, options: { sendRecoveryEmail: sendRecovery } })}>
                {labelOf(actions.data, 'force_password_reset')}
              </Button>
              <Checkbox label="Automatically send recovery email" checked={sendRecovery} onChange={(e) => setSendRecovery(e.currentTarget.checked)} />
            </Group>
            <Group>
              {otherActions(actions.data).map(({ action, label }) => (
                <Button key={action} variant="default" loading={preview.isPending} onClick={() => ask({ action, ...target } as OperationRequest)}>
                  {label}
                </Button>
              ))}
            </Group>
          </>
        ) : null}

        {step.name === 'reset' ? (
          <>
            <Text fw={500}>Always removed:</Text>
            <List size="sm">
              {ALWAYS_REMOVED.map((item) => (
                <List.Item key={item}>{item}</List.Item>
              ))}
            </List>
            <Text fw={500}>Also remove:</Text>
            {RESET_OPTIONS.map(({ key, label }) => (
              <Checkbox key={key} label={label} checked={chosen[key]} onChange={(e) => setOptions({ ...chosen, [key]: e.currentTarget.checked })} />
            ))}
            <Group>
              <Button
                variant="default"
                onClick={() => {
                  // Pressed when everything is already selected, it clears everything.
                  const all = RESET_OPTIONS.every(({ key }) => chosen[key]);
                  setOptions(Object.fromEntries(RESET_OPTIONS.map(({ key }) => [key, !all])) as ResetOptions);
                }}
              >
                Select All Options
              </Button>
              {selection ? null : <Checkbox label="Recycle Users" checked={recycle} onChange={(e) => setRecycle(e.currentTarget.checked)} />}
            </Group>
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setStep({ name: 'choose' })}>
                Back
              </Button>
              <Button loading={preview.isPending} onClick={() => ask({ action: 'reset', ...target, options: chosen }, recycle && !selection ? 'recycle' : undefined)}>
                Next
              </Button>
            </Group>
          </>
        ) : null}

        {step.name === 'confirm' ? (
          <>
            <Text fw={500}>The following actions will take place:</Text>
            <List size="sm">
              {step.preview.actions.map((line) => (
                <List.Item key={line}>{line}</List.Item>
              ))}
            </List>
            {step.preview.total > step.preview.users.length ? (
              <Text size="sm">
                Showing the first {step.preview.users.length} of {step.preview.total} users (now{' '}
                {Object.entries(step.preview.byStatus)
                  .map(([status, n]) => `${n} ${STATUS_LABELS[status as keyof typeof STATUS_LABELS]?.label ?? status}`)
                  .join(', ')}
                ). The action applies to exactly these {step.preview.total}.
              </Text>
            ) : null}
            <Table aria-label="What will happen to each user">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>User</Table.Th>
                  <Table.Th>Now</Table.Th>
                  <Table.Th>After</Table.Th>
                  <Table.Th>Details</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {step.preview.users.map((u) => (
                  <Table.Tr key={u.userId}>
                    <Table.Td>{u.displayName || u.userName || u.extension}</Table.Td>
                    <Table.Td>{u.status}</Table.Td>
                    <Table.Td>{u.allowed ? u.newStatus : <Badge color="red">not possible</Badge>}</Table.Td>
                    <Table.Td>
                      {u.refusal?.message ??
                        Object.entries(u.willDelete ?? {})
                          .map(([kind, n]) => `${n} ${kind.replaceAll('_', ' ')}`)
                          .join(', ')}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            {step.preview.refused ? (
              <Alert color="yellow">{step.preview.refused} of the selected users cannot take this action and will be left as they are.</Alert>
            ) : null}
            <Text fw={500}>Are you sure you want to continue?</Text>
            <Group justify="flex-end">
              <Button variant="default" onClick={() => setStep(step.request.action === 'reset' ? { name: 'reset' } : { name: 'choose' })}>
                Back
              </Button>
              <Button color="red" loading={run.isPending} disabled={!step.preview.allowed} onClick={() => confirm(step)}>
                {CONFIRM_WORDS[step.request.action] ?? labelOf(actions.data, step.request.action)}
              </Button>
            </Group>
          </>
        ) : null}

        {step.name === 'progress' ? (
          <OperationProgress
            operationId={step.operationId}
            onClose={() => onClose(true)}
            onNext={step.then === 'recycle' ? () => setStep({ name: 'recycle' }) : undefined}
          />
        ) : null}

        {step.name === 'recycle' ? (
          <>
            <Table aria-label="New people for the reset extensions">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Extension</Table.Th>
                  <Table.Th>First Name</Table.Th>
                  <Table.Th>Last Name</Table.Th>
                  <Table.Th>Email</Table.Th>
                  <Table.Th>Send Welcome Email</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {users.map((u) => {
                  const row = rows[u.id]!;
                  const set = (patch: Partial<RecycleRow>) => setRows({ ...rows, [u.id]: { ...row, ...patch } });
                  const ext = u.extension ?? u.userName ?? u.id;
                  return (
                    <Table.Tr key={u.id}>
                      <Table.Td>{u.extension}</Table.Td>
                      <Table.Td>
                        <TextInput aria-label={`First Name for ${ext}`} required value={row.firstName} onChange={(e) => set({ firstName: e.currentTarget.value })} />
                      </Table.Td>
                      <Table.Td>
                        <TextInput aria-label={`Last Name for ${ext}`} required value={row.lastName} onChange={(e) => set({ lastName: e.currentTarget.value })} />
                      </Table.Td>
                      <Table.Td>
                        <TextInput aria-label={`Email for ${ext}`} type="email" value={row.email} onChange={(e) => set({ email: e.currentTarget.value })} />
                      </Table.Td>
                      <Table.Td>
                        <Checkbox aria-label={`Send Welcome Email to ${ext}`} checked={row.sendWelcome && row.email !== ''} disabled={!row.email} onChange={(e) => set({ sendWelcome: e.currentTarget.checked })} />
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
            <Group justify="flex-end">
              <Button
                disabled={users.some((u) => !rows[u.id]!.firstName.trim() || !rows[u.id]!.lastName.trim())}
                loading={preview.isPending}
                onClick={() =>
                  ask({
                    action: 'recycle',
                    userIds,
                    options: {
                      users: Object.fromEntries(
                        users.map((u) => {
                          const row = rows[u.id]!;
                          const email = row.email.trim();
                          return [u.id, { firstName: row.firstName.trim(), lastName: row.lastName.trim(), ...(email ? { email, sendWelcome: row.sendWelcome } : { sendWelcome: false }) }];
                        }),
                      ),
                    },
                  })
                }
              >
                Save
              </Button>
            </Group>
          </>
        ) : null}
      </Stack>
    </Modal>
  );
}

/** Live counts, refreshed every second until every task has finished. */
function OperationProgress({ operationId, onClose, onNext }: { operationId: string; onClose: () => void; onNext?: (() => void) | undefined }) {
  const progress = useQuery({
    queryKey: ['operation', operationId],
    queryFn: () => unwrap(api.GET('/operations/{id}', { params: { path: { id: operationId } } })),
    refetchInterval: (query) => (query.state.data?.state === 'completed' ? false : 1000),
  });
  const retry = useMutation({ mutationFn: (id: string) => unwrap(api.POST('/tasks/{id}/retry', { params: { path: { id } } })) });
  const data = progress.data;
  if (!data) return <ErrorNotice error={progress.error} />;
  const { counts } = data;
  const done = counts.succeeded + counts.failed + counts.cancelled;
  const finished = data.state === 'completed';
  return (
    <Stack>
      <Progress value={counts.total ? (done / counts.total) * 100 : 100} aria-label="Progress" />
      <Group gap="lg" aria-live="polite">
        <Text>Succeeded: {counts.succeeded}</Text>
        <Text>Failed: {counts.failed}</Text>
        <Text>Waiting: {counts.waiting}</Text>
        <Text>Running: {counts.running + counts.queued}</Text>
        <Text>Total: {counts.total}</Text>
      </Group>
      {data.tasks
        .filter((t) => t.state === 'failed' || t.state === 'needs_decision')
        .map((t) => (
          <Alert key={t.taskId} color="red" title={`${t.displayName || t.userName || t.extension}: ${t.state.replace('_', ' ')}`}>
            <Group justify="space-between">
              <Text size="sm">{t.lastError ?? t.reason}</Text>
              <Button size="xs" variant="light" loading={retry.isPending} onClick={() => retry.mutate(t.taskId)}>
                Retry
              </Button>
            </Group>
          </Alert>
        ))}
      <Group justify="flex-end">
        {onNext ? (
          <Button disabled={!finished} onClick={onNext}>
            Next
          </Button>
        ) : (
          <Button onClick={onClose}>Close</Button>
        )}
      </Group>
    </Stack>
  );
}
