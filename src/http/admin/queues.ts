import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Router } from 'express';
import type { TaskQueues } from '../../queue/task-queues.ts';
import { requireRole } from './auth.ts';

/**
 * The queue dashboard (bull-board) at /admin/queues, admin role only: every turnover queue on the
 * configured backend (Redis or PostgreSQL: the adapter only talks to BullMQ Queue objects).
 * Task rows remain the truth; the dashboard shows the jobs that carry them.
 */
export const QUEUE_DASHBOARD_PATH = '/admin/queues';

export function queueDashboard(router: Router, { queues }: { queues: TaskQueues }): void {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: Object.values(queues).map((queue) => new BullMQAdapter(queue)),
    // @bull-board/express pins its own patch release of @bull-board/api: the same interface,
    // declared twice, which TypeScript cannot tell are one.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: { uiConfig: { boardTitle: 'turnover queues' } },
  });
  router.use('/queues', requireRole('admin'), serverAdapter.getRouter());
}
