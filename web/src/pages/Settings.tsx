import { Alert, Anchor, Button, Card, Checkbox, CopyButton, Group, NumberInput, Radio, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, unwrap } from '../api/client.ts';
import type { components } from '../api/schema';
import { ErrorNotice } from '../components/ErrorNotice.tsx';

type Policy = components['schemas']['PolicyChange'];

const RECONNECTION: Array<{ value: Policy['reconnectionMode']; label: string; description: string }> = [
  { value: 'leave_deleted', label: 'Leave deleted', description: 'A deleted user whose app connects again stays deleted; the app is told to clear its history.' },
  { value: 'set_active', label: 'Set active', description: 'A deleted user whose app connects again becomes active.' },
  { value: 'set_disabled', label: 'Set disabled', description: 'A deleted user whose app connects again comes back disabled and must be made active by an administrator.' },
];

/** Tenant policy with each choice explained, tokens, and the queue dashboard (admins only). */
export function Settings() {
  return (
    <Stack>
      <Title order={2}>Settings</Title>
      <PolicyForm />
      <Tokens />
      <Card withBorder>
        <Title order={3} size="h4">
          Queues
        </Title>
        <Anchor href="/admin/queues" target="_blank" rel="noopener">
          Open the queue dashboard
        </Anchor>
      </Card>
    </Stack>
  );
}

function PolicyForm() {
  const queryClient = useQueryClient();
  const settings = useQuery({ queryKey: ['settings'], queryFn: () => unwrap(api.GET('/settings')) });
  const [policy, setPolicy] = useState<Policy | null>(null);
  useEffect(() => {
    if (settings.data) setPolicy(settings.data.policy as Policy);
  }, [settings.data]);
  const save = useMutation({
    mutationFn: (body: Policy) => unwrap(api.PUT('/settings', { body })),
    onSuccess: () => {
      notifications.show({ message: 'Settings saved.', color: 'green' });
      void queryClient.invalidateQueries({ queryKey: ['settings'] });
    },
  });
  if (!policy) return <ErrorNotice error={settings.error} />;
  const num = (key: 'inactivityDays' | 'lockoutThreshold' | 'welcomeLinkTtlHours' | 'sessionIdleMinutes' | 'sessionMaxHours', label: string, description: string) => (
    <NumberInput label={label} description={description} value={policy[key]} min={1} onChange={(v) => typeof v === 'number' && setPolicy({ ...policy, [key]: v })} />
  );
  return (
    <Card withBorder component="form" onSubmit={(e) => (e.preventDefault(), save.mutate(policy))}>
      <Stack>
        <Title order={3} size="h4">
          Lifecycle policy
        </Title>
        <ErrorNotice error={save.error} />
        {num('inactivityDays', 'Inactivity (days)', 'Users with no check-in or sign-in for this long become Inactive, and active again at their next one.')}
        {num('lockoutThreshold', 'Lockout threshold', 'Wrong passwords in a row before a user is Denied (an operator unlocks them).')}
        {num('welcomeLinkTtlHours', 'Welcome link validity (hours)', 'How long a set-password link in a welcome or recovery email works.')}
        <Radio.Group label="Reconnection mode" description="What happens when the app of a deleted user connects again." value={policy.reconnectionMode} onChange={(v) => setPolicy({ ...policy, reconnectionMode: v as Policy['reconnectionMode'] })}>
          <Stack gap="xs" mt="xs">
            {RECONNECTION.map((mode) => (
              <Radio key={mode.value} value={mode.value} label={mode.label} description={mode.description} />
            ))}
          </Stack>
        </Radio.Group>
        <Select
          label="When the identity provider deactivates a user"
          data={[
            { value: 'disable', label: 'Disable (the identity provider can activate again)' },
            { value: 'ban', label: 'Ban (only an operator can unban)' },
            { value: 'deprovision', label: 'Deprovision (disable and revoke every session, token and app)' },
          ]}
          value={policy.onScimDeactivate}
          allowDeselect={false}
          onChange={(v) => v && setPolicy({ ...policy, onScimDeactivate: v as Policy['onScimDeactivate'] })}
        />
        <Select
          label="When the identity provider deletes a user"
          data={[
            { value: 'delete', label: 'Delete (hidden, history kept)' },
            { value: 'deprovision', label: 'Deprovision (kept, every access revoked)' },
            { value: 'permanent_delete', label: 'Permanently delete (personal data erased)' },
          ]}
          value={policy.onScimDelete}
          allowDeselect={false}
          onChange={(v) => v && setPolicy({ ...policy, onScimDelete: v as Policy['onScimDelete'] })}
        />
        <Checkbox label="Send a welcome email to users the identity provider creates" checked={policy.sendWelcomeOnScimCreate} onChange={(e) => setPolicy({ ...policy, sendWelcomeOnScimCreate: e.currentTarget.checked })} />
        <Text fw={500}>Mass-deprovision guard</Text>
        <Checkbox
          label="Hold identity-provider deactivations and deletions for approval past the limits below"
          checked={policy.deprovisionGuard.enabled}
          onChange={(e) => setPolicy({ ...policy, deprovisionGuard: { ...policy.deprovisionGuard, enabled: e.currentTarget.checked } })}
        />
        <Group>
          {(['maxCount', 'maxPercent', 'windowMinutes'] as const).map((key) => (
            <NumberInput
              key={key}
              label={{ maxCount: 'Users', maxPercent: 'Percent of active users', windowMinutes: 'Within (minutes)' }[key]}
              value={policy.deprovisionGuard[key]}
              min={key === 'maxPercent' ? 0.1 : 1}
              onChange={(v) => typeof v === 'number' && setPolicy({ ...policy, deprovisionGuard: { ...policy.deprovisionGuard, [key]: v } })}
            />
          ))}
        </Group>
        {num('sessionIdleMinutes', 'Console session idle timeout (minutes)', 'An operator who does nothing this long signs in again.')}
        {num('sessionMaxHours', 'Console session lifetime (hours)', 'An operator signs in again after this long, active or not.')}
        <Group justify="flex-end">
          <Button type="submit" loading={save.isPending}>
            Save settings
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}

function Tokens() {
  const queryClient = useQueryClient();
  const tokens = useQuery({ queryKey: ['tokens'], queryFn: () => unwrap(api.GET('/tokens')) });
  const [kind, setKind] = useState<'scim' | 'admin'>('scim');
  const [role, setRole] = useState<'office_manager' | 'admin'>('office_manager');
  const [label, setLabel] = useState('');
  const create = useMutation({
    mutationFn: () => unwrap(api.POST('/tokens', { body: { kind, ...(kind === 'admin' ? { role } : {}), ...(label ? { label } : {}) } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['tokens'] }),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/tokens/{id}', { params: { path: { id } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['tokens'] }),
  });
  const list = (tokens.data as { tokens?: components['schemas']['ApiToken'][] } | undefined)?.tokens ?? [];
  return (
    <Card withBorder>
      <Stack>
        <Title order={3} size="h4">
          Tokens
        </Title>
        <ErrorNotice error={tokens.error ?? create.error ?? revoke.error} />
        <Group align="flex-end">
          <Select label="Kind" data={[{ value: 'scim', label: 'SCIM (identity provider)' }, { value: 'admin', label: 'Admin API' }]} value={kind} allowDeselect={false} onChange={(v) => v && setKind(v as typeof kind)} />
          {kind === 'admin' ? (
            <Select label="Role" data={[{ value: 'office_manager', label: 'Office Manager' }, { value: 'admin', label: 'Admin' }]} value={role} allowDeselect={false} onChange={(v) => v && setRole(v as typeof role)} />
          ) : null}
          <TextInput label="Label" value={label} onChange={(e) => setLabel(e.currentTarget.value)} />
          <Button loading={create.isPending} onClick={() => create.mutate()}>
            Create token
          </Button>
        </Group>
        {create.data ? (
          <Alert color="blue" title="New token (shown once)">
            <Group>
              <Text ff="monospace" style={{ wordBreak: 'break-all' }}>
                {create.data.token}
              </Text>
              <CopyButton value={create.data.token}>
                {({ copied, copy }) => (
                  <Button size="xs" onClick={copy}>
                    {copied ? 'Copied' : 'Copy'}
                  </Button>
                )}
              </CopyButton>
            </Group>
          </Alert>
        ) : null}
        <Table aria-label="Tokens">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Token</Table.Th>
              <Table.Th>Kind</Table.Th>
              <Table.Th>Label</Table.Th>
              <Table.Th>Created</Table.Th>
              <Table.Th>State</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.map((t) => (
              <Table.Tr key={t.id}>
                <Table.Td ff="monospace">{t.prefix}…</Table.Td>
                <Table.Td>{t.kind}{t.role ? ` (${t.role})` : ''}</Table.Td>
                <Table.Td>{t.label}</Table.Td>
                <Table.Td>{new Date(t.createdAt).toLocaleDateString()}</Table.Td>
                <Table.Td>{t.revokedAt ? 'revoked' : 'live'}</Table.Td>
                <Table.Td>
                  {!t.revokedAt ? (
                    <Button size="xs" color="red" variant="light" onClick={() => revoke.mutate(t.id)} aria-label={`Revoke ${t.prefix}`}>
                      Revoke
                    </Button>
                  ) : null}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Stack>
    </Card>
  );
}
