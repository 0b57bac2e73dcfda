import { Button, Center, Paper, PasswordInput, Stack, TextInput, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { sessionRequest } from '../api/client.ts';
import { ErrorNotice } from '../components/ErrorNotice.tsx';
import { ME_KEY } from '../App.tsx';

export function SignIn() {
  const queryClient = useQueryClient();
  const [userName, setUserName] = useState('');
  const [password, setPassword] = useState('');
  const signIn = useMutation({
    mutationFn: () => sessionRequest('POST', { userName, password }),
    onSuccess: (me) => queryClient.setQueryData(ME_KEY, me),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate();
  };
  return (
    <Center h="100vh" component="main">
      <Paper withBorder p="xl" w={380} component="form" onSubmit={submit} aria-labelledby="sign-in-title">
        <Stack>
          <Title order={1} size="h3" id="sign-in-title">
            Sign in to turnover
          </Title>
          <ErrorNotice error={signIn.error} title="Could not sign in" />
          <TextInput label="User name" autoComplete="username" required value={userName} onChange={(e) => setUserName(e.currentTarget.value)} />
          <PasswordInput label="Password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.currentTarget.value)} />
          <Button type="submit" loading={signIn.isPending}>
            Sign in
          </Button>
        </Stack>
      </Paper>
    </Center>
  );
}
