import { Badge } from '@mantine/core';
import { STATUS_LABELS, type UserStatus } from '../labels.ts';

export function StatusBadge({ status }: { status: UserStatus }) {
  const { label, color } = STATUS_LABELS[status];
  return (
    <Badge color={color} variant="light" c="var(--mantine-color-text)">
      {label}
    </Badge>
  );
}
