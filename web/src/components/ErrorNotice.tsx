import { Alert } from '@mantine/core';
import { ApiError } from '../api/client.ts';

/** An API failure as the operator should read it: the problem's title and detail, never a stack. */
export function ErrorNotice({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const heading = title ?? (error instanceof ApiError ? error.title : 'Something went wrong');
  const detail = error instanceof ApiError ? error.detail : 'The request could not be completed. Check your connection and try again.';
  return (
    <Alert color="red" title={heading} role="alert">
      {detail}
    </Alert>
  );
}
