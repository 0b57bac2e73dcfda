import { activateProcessor } from './activate.ts';
import { banProcessor } from './ban.ts';
import { deleteUserProcessor } from './delete.ts';
import { deprovisionProcessor } from './deprovision.ts';
import { disableProcessor } from './disable.ts';
import { forcePasswordResetProcessor } from './force-password-reset.ts';
import { guardAlertProcessor } from './guard-alert.ts';
import { inactivitySweepProcessor } from './inactivity-sweep.ts';
import { purgeProcessor } from './purge.ts';
import { recycleProcessor } from './recycle.ts';
import { resetProcessor } from './reset.ts';
import { unbanProcessor } from './unban.ts';
import { unlockProcessor } from './unlock.ts';
import type { TaskType } from '../src/lifecycle/tasks.ts';
import type { TaskProcessor } from '../src/queue/processor.ts';
import { welcomeEmailProcessor } from './welcome-email.ts';

/** Every processor, by task type: a task type without one does not compile. */
export const PROCESSORS: { readonly [T in TaskType]: TaskProcessor<T> } = {
  deprovision: deprovisionProcessor,
  ban: banProcessor,
  unban: unbanProcessor,
  disable: disableProcessor,
  activate: activateProcessor,
  unlock: unlockProcessor,
  delete: deleteUserProcessor,
  purge: purgeProcessor,
  reset: resetProcessor,
  recycle: recycleProcessor,
  welcome_email: welcomeEmailProcessor,
  force_password_reset: forcePasswordResetProcessor,
  inactivity_sweep: inactivitySweepProcessor,
  guard_alert: guardAlertProcessor,
};
