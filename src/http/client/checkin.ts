import type { Router } from 'express';
import { z } from 'zod';
import { wakeTasksWaitingForDevice } from '../../queue/redrive.ts';
import type { TaskQueues } from '../../queue/task-queues.ts';
import { clearsHistory } from '../../lifecycle/transition.ts';
import { recordDeviceCheckin, stampTokenUse } from '../../store/devices.ts';
import type { Orm } from '../../store/orm.ts';
import { findActiveToken } from '../../store/tokens.ts';
import { insertUserData } from '../../store/user-data.ts';
import { applyLifecycleEvent } from '../../store/user-lifecycle.ts';
import { RequestError } from '../errors.ts';
import { jsonBody } from '../../input-guard.ts';
import { userDataPayload } from '../admin/data.ts';
import { parseInput } from '../admin/route.ts';

/**
 * POST /client/checkin (DESIGN.md §2, §4): a device proves its user is alive and reports the data
 * still waiting on it. Through the one lifecycle function: an inactive user becomes active, a
 * disabled one stays disabled, a deleted one follows the tenant's reconnection mode. The answer
 * says `clearHistory: true` when the check-in's transition tells the devices to clear (a disabled
 * user, a deleted one left deleted), and once after an order to clear. Uploaded items become the user's data; a check-in reporting nothing pending lets a
 * reset waiting on this device go on (after commit, so the woken job reads this count).
 */
export const checkinBody = z
  .object({
    pendingItems: z.number().int().min(0).max(1_000_000),
    items: z
      .array(
        z
          .object({
            /** e.g. `app_record`; lower-case letters, digits and underscores. */
            kind: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'a kind is lower-case letters, digits and _ (up to 64)'),
            payload: userDataPayload,
          })
          .strict(),
      )
      .max(1000)
      .optional(),
  })
  .strict();

const REFUSAL_STATUS: Record<string, number> = { user_locked: 423 };

export function checkinRoutes(router: Router, { orm, queues }: { orm: Orm; queues: TaskQueues }): void {
  router.post('/client/checkin', jsonBody({ limit: '5mb' }), async (req, res) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    const token = match ? await findActiveToken(orm.em.fork(), match[1]!, 'device') : null;
    if (!token?.userId) {
      res.set('WWW-Authenticate', 'Bearer realm="turnover client"');
      throw new RequestError('unauthorized', 401, 'a live device token is required');
    }
    const body = parseInput(checkinBody, req.body ?? {}, 'body');
    const { tenantId, userId, deviceId } = token as { tenantId: string; userId: string; deviceId: string | null };

    const outcome = await orm.em.fork().transactional(async (em) => {
      const applied = await applyLifecycleEvent(em, {
        tenantId,
        userId,
        event: { type: 'checkin' },
        actor: deviceId ? `device:${deviceId}` : `user:${userId}`,
        details: { pendingItems: body.pendingItems, uploaded: body.items?.length ?? 0 },
      });
      if (!applied.ok) return { kind: 'refused', refusal: applied.refusal } as const;
      const device = deviceId ? await recordDeviceCheckin(em, deviceId, body.pendingItems) : null;
      const stored = await insertUserData(em, tenantId, userId, body.items ?? []);
      await stampTokenUse(em, token.id);
      const status = applied.result.status;
      return { kind: 'ok', status, clearHistory: clearsHistory(applied.result) || device?.clearHistory === true, stored: stored.length } as const;
    });

    if (outcome.kind === 'refused') {
      throw new RequestError(outcome.refusal.code, REFUSAL_STATUS[outcome.refusal.code] ?? 403, outcome.refusal.message);
    }
    if (deviceId && body.pendingItems === 0) {
      // The check-in is committed; a failed wake-up only means the reset waits out its backoff.
      await wakeTasksWaitingForDevice(orm, queues, userId, { tenantId }).catch((error: unknown) =>
        req.log.warn({ err: error, userId }, 'could not wake resets waiting for this device'),
      );
    }
    res.json({ status: outcome.status, clearHistory: outcome.clearHistory, pendingItems: body.pendingItems, stored: outcome.stored });
  });
}
