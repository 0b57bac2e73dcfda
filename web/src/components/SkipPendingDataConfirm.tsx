import { Button, Group, Modal, Stack, Text } from '@mantine/core';

/** The explicit data-loss confirmation "Skip Pending Data" needs; "Reset" goes on. */
export function SkipPendingDataConfirm({ pending, busy, onConfirm, onBack }: { pending?: number; busy: boolean; onConfirm: () => void; onBack: () => void }) {
  return (
    <Modal opened onClose={onBack} title="Skip pending data?" closeButtonProps={{ 'aria-label': 'Close dialog' }}>
      <Stack>
        <Text>
          Anything still on the user's devices{pending === undefined ? '' : ` (${pending} item(s) last reported)`} will be lost for good. This is recorded in
          the audit trail.
        </Text>
        <Group justify="flex-end">
          <Button variant="default" onClick={onBack}>
            Back
          </Button>
          <Button color="red" loading={busy} onClick={onConfirm}>
            Reset
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
