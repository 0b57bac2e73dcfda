import { Alert, Badge, Button, Checkbox, Group, List, Loader, Modal, Progress, Radio, Stack, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { labelOf, useActions, type ActionInfo } from '../api/actions.ts';
import { api, unwrap } from '../api/client.ts';
import type { components } from '../api/schema';
import { countInWords, personName, STATUS_LABELS, type User, type UserStatus } from '../labels.ts';
import { ErrorNotice } from './ErrorNotice.tsx';

type OperationRequest = components['schemas']['OperationRequest'];
type Action = OperationRequest['action'];
type Preview = components['schemas']['OperationPreview'];
type ResetOptions = Required<components['schemas']['ResetOptions']>;
type RecycleRow = { firstName: string; lastName: string; email: string; sendWelcome: boolean };
type UserSelection = components['schemas']['UserSelection'];

/** The six optional reset items: the operator portal's labels, what each clears under it. */
const RESET_OPTIONS: Array<{ key: keyof ResetOptions; label: string; description: string }> = [
  { key: 'voicemailMessages', label: 'Delete Voicemail Messages', description: 'Voicemail messages: new, saved and trash.' },
  { key: 'voicemailGreetings', label: 'Delete Voicemail Greetings', description: 'Voicemail greetings, including timed ones, and the recorded name.' },
  { key: 'answeringRules', label: 'Delete Answering Rules', description: "All answering rules; the default rule (ring the user's devices) is put back." },
  { key: 'customContacts', label: 'Delete Custom Contacts', description: "The user's own contacts; shared contacts stay." },
  { key: 'unassignPhoneNumber', label: 'Unassign Phone Number', description: 'A number routed to the user goes back to the inventory as available.' },
  { key: 'removeDeviceLines', label: 'Remove lines from physical phones', description: 'Desk phones, soft phones and mobile apps lose their line.' },
];
const ALWAYS_REMOVED = 'name, email, password, voicemail PIN, soft phones';

/** The portal's three actions first, as radios; every other action without options follows. */
const OWN_CONTROLS: readonly Action[] = ['reset', 'welcome_email', 'force_password_reset'];
/** The radio's label where the portal's bulk dialog words it for many users. */
const CHOICE_LABELS: Partial<Record<Action, string>> = { reset: 'Reset Users' };
/** The confirm button's word where a step has a verb of its own; otherwise the action's label. */
const CONFIRM_WORDS: Partial<Record<Action, string>> = { reset: 'Reset', recycle: 'Save', welcome_email: 'Send', force_password_reset: 'Reset Passwords' };
const otherActions = (actions: readonly ActionInfo[]) => actions.filter((a) => !a.takesOptions && !OWN_CONTROLS.includes(a.action));
const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
/** "Kaylee Frye (1002)": the portal's way to name a seat's user. */
const seatName = (u: User) => `${personName(u) || u.userName || '(no name)'}${u.extension ? ` (${u.extension})` : ''}`;

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
  const [choice, setChoice] = useState<Action>('reset');
  const [sendRecovery, setSendRecovery] = useState(true);
  const [recycle, setRecycle] = useState(false);
  const [options, setOptions] = useState<ResetOptions | null>(null);
  const [rows, setRows] = useState<Record<string, RecycleRow>>(() =>
    Object.fromEntries(users.map((u) => [u.id, { firstName: '', lastName: '', email: '', sendWelcome: true }])),
  );
  const userIds = users.map((u) => u.id);
  const target = selection ? { selection: selection.filter } : { userIds };
  const count = selection?.count ?? users.length;
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
            <Text>Select an action to perform on the selected users.</Text>
            <SelectedUsers users={users} selection={selection} heading={`Selected ${usersInWords(count)}`} />
            <Radio.Group value={choice} onChange={(value) => setChoice(value as Action)} label="Action" aria-label="Action">
              <Stack gap="sm" mt="xs">
                {[...OWN_CONTROLS.map((a) => actions.data.find((info) => info.action === a)!).filter(Boolean), ...otherActions(actions.data)].map((info) => (
                  <div key={info.action}>
                    <Radio value={info.action} label={CHOICE_LABELS[info.action] ?? info.label} description={sentence(info.description)} />
                    {info.action === 'force_password_reset' ? (
                      <Checkbox
                        ml="xl"
                        mt="xs"
                        label="Automatically send recovery email"
                        checked={sendRecovery}
                        disabled={choice !== 'force_password_reset'}
                        onChange={(e) => setSendRecovery(e.currentTarget.checked)}
                      />
                    ) : null}
                  </div>
                ))}
              </Stack>
            </Radio.Group>
            <Group justify="flex-end">
              <Button variant="default" onClick={() => onClose(false)}>
                Cancel
              </Button>
              <Button
                loading={preview.isPending}
                onClick={() => {
                  if (choice === 'reset') return setStep({ name: 'reset' });
                  const request = choice === 'force_password_reset' ? { action: choice, ...target, options: { sendRecoveryEmail: sendRecovery } } : { action: choice, ...target };
                  void ask(request as OperationRequest);
                }}
              >
                {choice === 'reset' ? 'Begin Reset' : 'Complete Action'}
              </Button>
            </Group>
          </>
        ) : null}

        {step.name === 'reset' ? (
          <>
            <Text>Reset and delete user settings and data.</Text>
            <SelectedUsers users={users} selection={selection} heading={`Reset ${usersInWords(count)}`} />
            <Text>The selected users will have their {ALWAYS_REMOVED} removed by default.</Text>
            <Group justify="space-between">
              <Text fw={500}>Optional</Text>
              <Button
                variant="subtle"
                size="compact-sm"
                onClick={() => {
                  // Pressed when everything is already selected, it clears everything.
                  const all = RESET_OPTIONS.every(({ key }) => chosen[key]);
                  setOptions(Object.fromEntries(RESET_OPTIONS.map(({ key }) => [key, !all])) as ResetOptions);
                }}
              >
                Select All Options
              </Button>
            </Group>
            {RESET_OPTIONS.map(({ key, label, description }) => (
              <Checkbox key={key} label={label} description={description} checked={chosen[key]} onChange={(e) => setOptions({ ...chosen, [key]: e.currentTarget.checked })} />
            ))}
            {/* A recycle names a new person per seat: not for a whole selection. */}
            {selection ? null : (
              <Checkbox label="Recycle Users" description="Provide new name and email after resetting the users." checked={recycle} onChange={(e) => setRecycle(e.currentTarget.checked)} />
            )}
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
            {step.request.action === 'reset' ? (
              <>
                <SelectedUsers users={users} selection={selection} heading={`Reset ${usersInWords(count)}`} />
                <Text>The selected users will have their {ALWAYS_REMOVED} removed by default.</Text>
              </>
            ) : null}
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
                  {step.request.action === 'recycle' ? <Table.Th>New person</Table.Th> : null}
                  <Table.Th>Now</Table.Th>
                  <Table.Th>After</Table.Th>
                  <Table.Th>Details</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {step.preview.users.map((u) => (
                  <Table.Tr key={u.userId}>
                    <Table.Td>
                      {u.displayName || u.userName || u.extension}
                      {u.extension && (u.displayName || u.userName) ? ` (${u.extension})` : ''}
                    </Table.Td>
                    {step.request.action === 'recycle' ? <Table.Td>{newPersonOf(step.request, u.userId)}</Table.Td> : null}
                    <Table.Td>{statusLabel(u.status)}</Table.Td>
                    <Table.Td>{u.allowed ? statusLabel(u.newStatus) : <Badge color="red">not possible</Badge>}</Table.Td>
                    <Table.Td>
                      {u.refusal?.message ??
                        Object.entries(u.willDelete ?? {})
                          .map(([kind, n]) => countInWords(kind, n))
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
                  <Table.Th>Seat</Table.Th>
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
                  // The seat as the operator tells it apart: its extension, else the previous login or department.
                  const ext = u.extension ?? u.userName ?? u.department ?? u.id;
                  return (
                    <Table.Tr key={u.id}>
                      <Table.Td>
                        {u.extension ?? <Text size="sm">{u.userName ?? u.department ?? '—'}</Text>}
                        {u.extension && u.department ? <Text size="xs" c="dimmed">{u.department}</Text> : null}
                      </Table.Td>
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

const usersInWords = (n: number) => (n === 1 ? '1 user' : `${n} users`);

/** Who the action is for: the portal's list of names, or for a whole selection how many match. */
function SelectedUsers({ users, heading, selection }: { users: User[]; heading: string; selection?: { count: number } | undefined }) {
  const shown = users.slice(0, 50);
  if (selection) {
    return (
      <>
        <Text fw={500}>{heading}</Text>
        <Text>All {selection.count} users matching the list's filters.</Text>
      </>
    );
  }
  return (
    <>
      <Text fw={500}>{heading}</Text>
      <List size="sm" aria-label={heading}>
        {shown.map((u) => (
          <List.Item key={u.id}>{seatName(u)}</List.Item>
        ))}
        {users.length > shown.length ? <List.Item>and {users.length - shown.length} more</List.Item> : null}
      </List>
    </>
  );
}

function statusLabel(status: string | null | undefined): string {
  return status ? (STATUS_LABELS[status as UserStatus]?.label ?? status.replaceAll('_', ' ')) : '—';
}

/** "Simon Tam · simon@serenity.test": who a recycle gives the seat to. */
function newPersonOf(request: OperationRequest, userId: string): string {
  const people = (request as { options?: { users?: Record<string, { firstName: string; lastName: string; email?: string }> } }).options?.users;
  const person = people?.[userId];
  return person ? [`${person.firstName} ${person.lastName}`, person.email].filter(Boolean).join(' · ') : '—';
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
