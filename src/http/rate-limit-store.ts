import { Redis } from 'ioredis';
import type { Store } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';

/** Named rate-limit counters shared by every API process (Redis), and how to let go of them. */
export interface SharedLimitStores {
  store(name: string): Store;
  close(): Promise<void>;
}

/**
 * With Redis configured, sign-in limits are counted in Redis, so N API processes behind a load
 * balancer allow what one does, not N times as much. Without it they are counted per process
 * (express-rate-limit's memory store): the zero-setup deployment is one process anyway, and the
 * lockout, which is what stops password guessing, is counted in the database either way.
 */
export function sharedLimitStores(redisUrl: string | undefined, prefix: string): SharedLimitStores | undefined {
  if (!redisUrl) return undefined;
  // Fail fast rather than queue: a limiter that cannot count lets the request through
  // (passOnStoreError at the limiter), so sign-in never waits on a Redis that is away.
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on('error', () => {}); // reported by the readiness check through the queue backend
  return {
    store: (name) =>
      new RedisStore({
        prefix: `${prefix}:limit:${name}:`,
        sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
      }),
    close: async () => {
      redis.disconnect();
    },
  };
}
