import { createHash } from 'node:crypto';
import type { Store } from 'express-rate-limit';
import { Cluster } from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { openRedis, type RedisTarget } from '../queue/redis-connection.ts';

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
export function sharedLimitStores(target: RedisTarget | undefined, prefix: string): SharedLimitStores | undefined {
  if (!target) return undefined;
  // Fail fast rather than queue: a limiter that cannot count lets the request through
  // (passOnStoreError at the limiter), so sign-in never waits on a Redis that is away.
  const redis = openRedis(target, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on('error', () => {}); // reported by the readiness check through the queue backend
  const send = (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>;
  // On a cluster SCRIPT LOAD names no key, so it would reach any node, and the EVALSHA that
  // follows (routed by its key) would miss; a promoted replica has no scripts either. So each
  // script is sent whole (EVAL, routed by its key), and Redis compiles it once per node.
  const scripts = new Map<string, string>();
  const sendCommandCluster = async ({ command: [command, ...args] }: { command: string[] }): Promise<RedisReply> => {
    const name = command!.toUpperCase();
    if (redis instanceof Cluster && name === 'SCRIPT' && args[0]?.toUpperCase() === 'LOAD') {
      const sha = createHash('sha1').update(args[1]!).digest('hex');
      scripts.set(sha, args[1]!);
      return sha;
    }
    const script = name === 'EVALSHA' ? scripts.get(args[0]!) : undefined;
    return script === undefined ? send(command!, ...args) : send('EVAL', script, ...args.slice(1));
  };
  return {
    store: (name) =>
      // The counters' keys carry the prefix's hash tag: on a cluster they share the queues' slot.
      new RedisStore({ prefix: `${prefix}:limit:${name}:`, sendCommandCluster }),
    close: async () => {
      redis.disconnect();
    },
  };
}
