import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { RequestHandler, Router } from 'express';
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
  router.use('/queues', requireRole('admin'), withoutExternalFonts, serverAdapter.getRouter());
}

/** bull-board's page links IBM Plex from Google Fonts. */
const EXTERNAL_FONTS = /<link\b[^>]*\bhref="https:\/\/fonts\.(?:googleapis|gstatic)\.com[^"]*"[^>]*>/g;

/**
 * The dashboard makes no request outside turnover (an operator's browser need not reach Google,
 * and the console's CSP would refuse it anyway): the font links go, and the page falls back to
 * bull-board's own sans-serif stack.
 */
const withoutExternalFonts: RequestHandler = (_req, res, next) => {
  const send = res.send.bind(res);
  res.send = (body?: unknown) => send(typeof body === 'string' ? body.replace(EXTERNAL_FONTS, '') : body);
  next();
};
