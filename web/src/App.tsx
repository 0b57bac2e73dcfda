import { ActionIcon, AppShell, Burger, Button, Center, Group, Loader, NavLink, Text, Title, useComputedColorScheme, useMantineColorScheme } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Anchor } from '@mantine/core';
import { Link } from 'react-router';
import { api, unwrap } from './api/client.ts';
import { Navigate, Route, Routes, useLocation, useNavigate } from 'react-router';
import { sessionRequest, type Me } from './api/client.ts';
import { ErrorBoundary } from './components/ErrorBoundary.tsx';
import { SignIn } from './pages/SignIn.tsx';
import { AddUsers } from './pages/AddUsers.tsx';
import { Audit } from './pages/Audit.tsx';
import { ProvisioningLog } from './pages/ProvisioningLog.tsx';
import { Settings } from './pages/Settings.tsx';
import { UserDetail } from './pages/UserDetail.tsx';
import { Work } from './pages/Work.tsx';
import { Users } from './pages/Users.tsx';
import { ROLE_LABELS } from './labels.ts';

export const ME_KEY = ['session'] as const;

/** Signed out: the sign-in form. Signed in: the shell with the screens the role may use. */
export function App() {
  const session = useQuery({ queryKey: ME_KEY, queryFn: () => sessionRequest('GET') });
  if (session.isPending) {
    return (
      <Center h="100vh" aria-busy="true">
        <Loader aria-label="Loading" />
      </Center>
    );
  }
  if (!session.data) return <SignIn />;
  return <Shell me={session.data} />;
}

function Shell({ me }: { me: Me }) {
  const location = useLocation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  // Below the `sm` breakpoint (a phone, 390 px) the navigation folds behind a menu button.
  const [navOpen, nav] = useDisclosure(false);
  const signOut = async () => {
    await sessionRequest('DELETE').catch(() => null);
    queryClient.clear();
    queryClient.setQueryData(ME_KEY, null);
  };
  const links = [
    { to: '/users', label: 'Users' },
    { to: '/add', label: 'Add users' },
    { to: '/work', label: 'Work' },
    { to: '/audit', label: 'Audit' },
    { to: '/provisioning-log', label: 'Provisioning log' },
    // Office managers act on users; only admins change the tenant (settings, tokens, queues).
    ...(me.role === 'admin' ? [{ to: '/settings', label: 'Settings' }] : []),
  ];
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 200, breakpoint: 'sm', collapsed: { mobile: !navOpen } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="xs" wrap="nowrap">
            <Burger opened={navOpen} onClick={nav.toggle} hiddenFrom="sm" size="sm" aria-label={navOpen ? 'Close navigation' : 'Open navigation'} aria-expanded={navOpen} />
            <Title order={1} size="h4">
              turnover
            </Title>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <Text size="sm" visibleFrom="sm">
              {me.userName} · {ROLE_LABELS[me.role]} · {me.tenant}
            </Text>
            <ColorSchemeSwitch />
            <Button variant="subtle" size="xs" onClick={signOut}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label="Main">
        {links.map((link) => (
          <NavLink
            key={link.to}
            href={`/console${link.to}`}
            label={link.label}
            variant="filled"
            active={location.pathname === link.to || location.pathname.startsWith(`${link.to}/`)}
            onClick={(event) => {
              event.preventDefault();
              nav.close();
              navigate(link.to);
            }}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main>
        {me.role === 'admin' ? <HeldBanner /> : null}
        <ErrorBoundary resetKey={location.pathname}>
          <Routes>
            <Route path="/users" element={<Users />} />
            <Route path="/users/:id" element={<UserDetail />} />
            <Route path="/add" element={<AddUsers />} />
            <Route path="/work" element={<Work canApprove={me.role === 'admin'} />} />
            <Route path="/audit" element={<Audit />} />
            <Route path="/provisioning-log" element={<ProvisioningLog />} />
            {me.role === 'admin' ? <Route path="/settings" element={<Settings />} /> : null}
            <Route path="*" element={<Navigate to="/users" replace />} />
          </Routes>
        </ErrorBoundary>
      </AppShell.Main>
    </AppShell>
  );
}

/** Light or dark: the system's setting until the operator picks one (kept in this browser). */
function ColorSchemeSwitch() {
  const { setColorScheme } = useMantineColorScheme();
  const current = useComputedColorScheme('light');
  const next = current === 'dark' ? 'light' : 'dark';
  return (
    <ActionIcon variant="default" size="lg" onClick={() => setColorScheme(next)} aria-label={`Switch to ${next} mode`} title={`Switch to ${next} mode`}>
      <span aria-hidden="true">{current === 'dark' ? '☀' : '☾'}</span>
    </ActionIcon>
  );
}

/** Admins see at once when the mass-deprovision guard holds IdP work for their approval. */
function HeldBanner() {
  const held = useQuery({
    queryKey: ['tasks', 'held'],
    queryFn: () => unwrap(api.GET('/tasks', { params: { query: { state: 'held', limit: 100 } } })),
    refetchInterval: 15_000,
  });
  const n = held.data?.tasks.length ?? 0;
  if (!n) return null;
  return (
    <Alert color="red" title="Identity provider changes held for approval" mb="md" role="alert">
      The identity provider deactivated or deleted more users than the mass-deprovision guard allows ({n}
      {held.data?.nextCursor ? '+' : ''} held).{' '}
      <Anchor component={Link} to="/work" c="var(--mantine-color-text)" underline="always" fw={600}>
        Review them in Work
      </Anchor>
      .
    </Alert>
  );
}
