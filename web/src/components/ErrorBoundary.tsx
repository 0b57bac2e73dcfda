import { Alert, Button, Stack } from '@mantine/core';
import { Component, type ReactNode } from 'react';

/** A screen that fails to render shows this instead of a blank page; the rest of the console stays. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string }, { error: Error | null }> {
  override state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override componentDidUpdate(previous: { resetKey?: string }) {
    if (previous.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <Stack>
        <Alert color="red" title="This screen could not be shown" role="alert">
          Something unexpected happened while showing this screen. Reload the page; if it happens again, tell your administrator what you did.
        </Alert>
        <Button w="fit-content" onClick={() => window.location.reload()}>
          Reload
        </Button>
      </Stack>
    );
  }
}
