import { Alert, Anchor, Button, Card, CopyButton, Group, Loader, Modal, PasswordInput, Radio, Select, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { labelOf, useActions, type ActionInfo, type ActionName } from '../api/actions.ts';
import { api, unwrap } from '../api/client.ts';
import { runOperation, waitForOperation, type OperationRequest } from '../api/operations.ts';
import { AuditTable } from '../components/AuditTable.tsx';
import { ErrorNotice } from '../components/ErrorNotice.tsx';
import { ResetAppAccess } from '../components/ResetAppAccess.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { countInWords, personName, ROLE_LABELS, type User } from '../labels.ts';

/** A user's page: details ("Submit Form"), lifecycle actions, devices, data and history. */
export function UserDetail() {
  const { id = '' } = useParams();
  const queryClient = useQueryClient();
  const user = useQuery({ queryKey: ['user', id], queryFn: () => unwrap(api.GET('/users/{id}', { params: { path: { id } } })) });
  const refresh = () => queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] === 'user' || q.queryKey[0] === 'users' || q.queryKey[0] === 'user-extra' });
  if (user.isPending) return <Loader aria-label="Loading user" />;
  if (!user.data) return <ErrorNotice error={user.error} />;
  const u = user.data;
  return (
    <Stack>
      <Anchor component={Link} to="/users">
        ← Users
      </Anchor>
      <Group>
        <Title order={2}>{personName(u) || u.userName || '(no name)'}</Title>
        <StatusBadge status={u.status} />
      </Group>
      <Text c="dimmed">
        {u.userName} {u.extension ? `· ext. ${u.extension}` : ''} · {ROLE_LABELS[u.role]}
      </Text>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <EditDetails user={u} onSaved={refresh} />
        <Actions user={u} onChanged={refresh} />
      </SimpleGrid>
      <Devices userId={u.id} />
      <History userId={u.id} />
    </Stack>
  );
}

function EditDetails({ user, onSaved }: { user: User; onSaved: () => void }) {
  const [form, setForm] = useState({
    firstName: user.firstName ?? '',
    lastName: user.lastName ?? '',
    email: user.email ?? '',
    phone: user.phone ?? '',
    department: user.department ?? '',
    role: user.role,
  });
  useEffect(() => {
    setForm({ firstName: user.firstName ?? '', lastName: user.lastName ?? '', email: user.email ?? '', phone: user.phone ?? '', department: user.department ?? '', role: user.role });
  }, [user]);
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH('/users/{id}', {
          params: { path: { id: user.id } },
          body: {
            firstName: form.firstName.trim() || null,
            lastName: form.lastName.trim() || null,
            email: form.email.trim() || null,
            phone: form.phone.trim() || null,
            department: form.department.trim() || null,
            role: form.role,
          },
        }),
      ),
    onSuccess: () => {
      notifications.show({ message: 'The details are saved.', color: 'green' });
      onSaved();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  const field = (key: Exclude<keyof typeof form, 'role'>, label: string, type = 'text') => (
    <TextInput label={label} type={type} value={form[key]} onChange={(e) => setForm({ ...form, [key]: e.currentTarget.value })} />
  );
  return (
    <Card withBorder component="form" onSubmit={submit} aria-labelledby="details-title">
      <Stack gap="xs">
        <Title order={3} size="h4" id="details-title">
          Details
        </Title>
        <ErrorNotice error={save.error} />
        {field('firstName', 'First Name')}
        {field('lastName', 'Last Name')}
        {field('email', 'Email', 'email')}
        {field('phone', 'Phone')}
        {field('department', 'Department')}
        <Select
          label="Role"
          data={Object.entries(ROLE_LABELS).map(([value, label]) => ({ value, label }))}
          value={form.role}
          onChange={(value) => value && setForm({ ...form, role: value as User['role'] })}
          allowDeselect={false}
        />
        <Group justify="flex-end">
          <Button type="submit" loading={save.isPending}>
            Submit Form
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}

/**
 * The user's actions: those the admin API offers this user (`allowedActions`, decided by the
 * lifecycle rules), with the actions' own labels. Delete opens the choice of its two levels.
 */
function Actions({ user, onChanged }: { user: User; onChanged: () => void }) {
  const actions = useActions();
  const [resetOpen, setResetOpen] = useState(false);
  const [unlockOpen, setUnlockOpen] = useState(false);
  const [deleteOpen, setDeleteOpen] = useState(false);
  const act = useMutation({
    mutationFn: async (request: OperationRequest) => {
      const progress = await waitForOperation(await runOperation(request));
      const task = progress.tasks[0];
      if (task?.state === 'failed') throw new Error(task.lastError ?? 'the action failed');
    },
    onSuccess: onChanged,
  });
  const offered = new Set<ActionName>(user.allowedActions);
  const label = (action: ActionName) => labelOf(actions.data, action);
  const simple = (action: 'ban' | 'unban' | 'disable' | 'activate') =>
    offered.has(action) ? (
      <Button key={action} variant="default" loading={act.isPending && act.variables?.action === action} onClick={() => act.mutate({ action, userIds: [user.id] })}>
        {label(action)}
      </Button>
    ) : null;
  return (
    <Card withBorder>
      <Stack gap="xs">
        <Title order={3} size="h4">
          Actions
        </Title>
        {act.error ? <Alert color="red" title="The action failed">{act.error.message}</Alert> : null}
        {actions.data ? (
          <Group>
            {offered.has('reset') ? <Button onClick={() => setResetOpen(true)}>Reset App Access</Button> : null}
            {simple('ban')}
            {simple('unban')}
            {simple('disable')}
            {simple('activate')}
            {offered.has('unlock') ? (
              <Button variant="default" onClick={() => setUnlockOpen(true)}>
                {label('unlock')}
              </Button>
            ) : null}
            {offered.has('delete') || offered.has('permanent_delete') ? (
              <Button color="red" variant="outline" onClick={() => setDeleteOpen(true)}>
                {label('delete')}
              </Button>
            ) : null}
          </Group>
        ) : actions.isPending ? (
          <Loader size="sm" aria-label="Loading actions" />
        ) : (
          <ErrorNotice error={actions.error} />
        )}
        <Text size="sm" c="dimmed">
          Ban blocks access and keeps all history. Disable switches the account off until it is activated.
        </Text>
      </Stack>
      {resetOpen ? (
        <ResetAppAccess
          user={user}
          onClose={() => {
            setResetOpen(false);
            onChanged();
          }}
        />
      ) : null}
      {unlockOpen ? <UnlockModal user={user} onClose={() => { setUnlockOpen(false); onChanged(); }} /> : null}
      {deleteOpen && actions.data ? <DeleteModal user={user} actions={actions.data} onClose={() => { setDeleteOpen(false); onChanged(); }} /> : null}
    </Card>
  );
}

function UnlockModal({ user, onClose }: { user: User; onClose: () => void }) {
  const [mode, setMode] = useState<'keep' | 'choose' | 'generate'>('keep');
  const [password, setPassword] = useState('');
  const unlock = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST('/users/{id}/unlock', {
          params: { path: { id: user.id } },
          body: mode === 'choose' ? { password } : mode === 'generate' ? { generatePassword: true } : {},
        }),
      ),
  });
  return (
    <Modal opened onClose={onClose} title="Unlock user" closeButtonProps={{ 'aria-label': 'Close dialog' }}>
      <Stack>
        <ErrorNotice error={unlock.error} />
        {unlock.data ? (
          <>
            <Text>{user.userName} can sign in again.</Text>
            {unlock.data.password ? <Credentials userName={user.userName} password={unlock.data.password} /> : null}
            <Button onClick={onClose}>Close</Button>
          </>
        ) : (
          <>
            <Radio.Group label="Password" value={mode} onChange={(v) => setMode(v as typeof mode)}>
              <Stack gap="xs" mt="xs">
                <Radio value="keep" label="Keep the current password" />
                <Radio value="choose" label="Set a new password" />
                <Radio value="generate" label="Generate a new password" />
              </Stack>
            </Radio.Group>
            {mode === 'choose' ? <PasswordInput label="New password" value={password} onChange={(e) => setPassword(e.currentTarget.value)} /> : null}
            <Group justify="flex-end">
              <Button variant="default" onClick={onClose}>
                Cancel
              </Button>
              <Button loading={unlock.isPending} onClick={() => unlock.mutate()}>
                Unlock
              </Button>
            </Group>
          </>
        )}
      </Stack>
    </Modal>
  );
}

const RECONNECTION: Record<string, string> = {
  leave_deleted: 'stays deleted if their app connects again',
  set_active: 'becomes active again if their app connects again',
  set_disabled: 'comes back disabled (an administrator must activate them) if their app connects again',
};

function DeleteModal({ user, actions, onClose }: { user: User; actions: readonly ActionInfo[]; onClose: () => void }) {
  const [level, setLevel] = useState<'delete' | 'permanent_delete'>('delete');
  const settings = useQuery({ queryKey: ['settings'], queryFn: () => unwrap(api.GET('/settings')) });
  const remove = useMutation({ mutationFn: async () => waitForOperation(await runOperation({ action: level, userIds: [user.id] })) });
  const mode = settings.data?.policy.reconnectionMode;
  return (
    <Modal opened onClose={onClose} title="Delete user" closeButtonProps={{ 'aria-label': 'Close dialog' }}>
      <Stack>
        <ErrorNotice error={remove.error} />
        {remove.data ? (
          <>
            <Text>{level === 'delete' ? 'The user is deleted.' : 'The user is permanently deleted.'}</Text>
            <Button onClick={onClose}>Close</Button>
          </>
        ) : (
          <>
            <Radio.Group value={level} onChange={(v) => setLevel(v as typeof level)} label="Level">
              <Stack gap="xs" mt="xs">
                <Radio value="delete" label={labelOf(actions, 'delete')} description={`Hidden from lists; history kept. With this tenant's reconnection mode the user ${mode ? RECONNECTION[mode] : '…'}.`} />
                <Radio value="permanent_delete" label={labelOf(actions, 'permanent_delete')} description="Personal data, devices and records are erased for good (GDPR). This cannot be undone." />
              </Stack>
            </Radio.Group>
            <Group justify="flex-end">
              <Button variant="default" onClick={onClose}>
                Cancel
              </Button>
              <Button color="red" loading={remove.isPending} onClick={() => remove.mutate()}>
                {labelOf(actions, level)}
              </Button>
            </Group>
          </>
        )}
      </Stack>
    </Modal>
  );
}

/** The one-time password with "Copy" (copies login and password together). */
export function Credentials({ userName, password }: { userName: string | null; password: string }) {
  const text = `User name: ${userName ?? ''}\nPassword: ${password}`;
  return (
    <Alert color="blue" title="New password (shown once)">
      <Stack gap={4}>
        <Text ff="monospace">User name: {userName}</Text>
        <Text ff="monospace" data-testid="new-password">
          Password: {password}
        </Text>
        <CopyButton value={text}>
          {({ copied, copy }) => (
            <Button size="xs" onClick={copy} w="fit-content">
              {copied ? 'Copied' : 'Copy'}
            </Button>
          )}
        </CopyButton>
      </Stack>
    </Alert>
  );
}

/** A device by its kind, as the user would call it. */
const DEVICE_KIND_LABELS: Record<string, string> = { mobile_app: 'Mobile app', desktop_app: 'Desktop app', soft_phone: 'Soft phone', desk_phone: 'Desk phone' };

function Devices({ userId }: { userId: string }) {
  const devices = useQuery({ queryKey: ['user-extra', userId, 'devices'], queryFn: () => unwrap(api.GET('/users/{id}/devices', { params: { path: { id: userId } } })) });
  const data = useQuery({ queryKey: ['user-extra', userId, 'data'], queryFn: () => unwrap(api.GET('/users/{id}/data', { params: { path: { id: userId } } })) });
  const list = devices.data?.devices ?? [];
  return (
    <Card withBorder>
      <Title order={3} size="h4">
        Devices and data
      </Title>
      <ErrorNotice error={devices.error ?? data.error} />
      <Table aria-label="Devices">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Device</Table.Th>
            <Table.Th>Last check-in</Table.Th>
            <Table.Th>Pending items</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {list.map((d) => (
            <Table.Tr key={d.id}>
              <Table.Td>
                {DEVICE_KIND_LABELS[d.kind] ?? d.kind}
                {d.name ? ` · ${d.name}` : ''} {d.removedAt ? '(removed)' : ''}
              </Table.Td>
              <Table.Td>{d.lastCheckinAt ? new Date(d.lastCheckinAt).toLocaleString() : 'never'}</Table.Td>
              <Table.Td>{d.pendingItems}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {!list.length && devices.isSuccess ? <Text c="dimmed">No devices.</Text> : null}
      <Text mt="sm" size="sm">
        Data:{' '}
        {Object.entries(data.data?.counts ?? {})
          .map(([kind, n]) => countInWords(kind, n))
          .join(' · ') || 'none'}
      </Text>
    </Card>
  );
}

function History({ userId }: { userId: string }) {
  const audit = useQuery({ queryKey: ['user-extra', userId, 'audit'], queryFn: () => unwrap(api.GET('/audit', { params: { query: { userId, limit: 20 } } })) });
  return (
    <Card withBorder>
      <Title order={3} size="h4">
        History
      </Title>
      <Anchor component={Link} to={`/provisioning-log?userId=${userId}`} size="sm">
        SCIM history: this user's requests in the provisioning log
      </Anchor>
      <ErrorNotice error={audit.error} />
      <AuditTable entries={audit.data?.entries ?? []} label="History" />
    </Card>
  );
}
