import '@mantine/core/styles.css';
import '@mantine/notifications/styles.css';
import { Alert, createTheme, MantineProvider, type CSSVariablesResolver } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { App } from './App.tsx';
import { ApiError } from './api/client.ts';

// Darker shades than Mantine's defaults so white text on filled buttons and coloured text on light
// backgrounds meet WCAG AA contrast (4.5:1), which the accessibility test checks.
const theme = createTheme({
  primaryShade: { light: 8, dark: 8 },
  autoContrast: true,
  components: {
    // Alert titles default to the alert's colour on its own tint; the text colour reads on every
    // tint (black in light mode, near-white in dark).
    Alert: Alert.extend({ styles: { title: { color: 'var(--mantine-color-text)' } } }),
  },
});
// Mantine's "dimmed" (descriptions, hints) is gray.6, under 4.5:1 on white; gray.7 is 8:1. In dark
// mode dark.1 on the dark body is over 7:1.
const cssVariables: CSSVariablesResolver = (t) => ({
  variables: {},
  light: { '--mantine-color-dimmed': t.colors.gray[7]! },
  dark: { '--mantine-color-dimmed': t.colors.dark[1]! },
});

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A 401/403 will not fix itself by asking again.
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      refetchOnWindowFocus: false,
    },
  },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={cssVariables} defaultColorScheme="auto">
      <Notifications position="top-right" />
      <QueryClientProvider client={queryClient}>
        <BrowserRouter basename="/console">
          <App />
        </BrowserRouter>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
