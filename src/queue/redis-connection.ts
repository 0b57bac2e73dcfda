import { Cluster, Redis } from 'ioredis';
import type { RedisClusterConfig } from '../config.ts';

/**
 * Where Redis is: one server (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES). Both the queue
 * backend and the API's shared rate limits open their client here, so they reach the same Redis
 * the same way. On a cluster every key turnover writes carries the prefix's hash tag
 * (`{turnover}`), so all of them live in one slot: BullMQ's multi-key scripts never span nodes,
 * and one primary (with its replica for failover) carries the queues.
 */
export type RedisTarget = { url: string } | { cluster: RedisClusterConfig };

export type RedisClient = Redis | Cluster;

export function redisTarget(redisUrl: string | undefined, redisCluster: RedisClusterConfig | undefined): RedisTarget | undefined {
  if (redisCluster) return { cluster: redisCluster };
  return redisUrl ? { url: redisUrl } : undefined;
}

export interface RedisClientOptions {
  /** null: a command waits out a restart or a failover (BullMQ requires it); a number: fail fast. */
  maxRetriesPerRequest: number | null;
  connectTimeout?: number;
}

export function openRedis(target: RedisTarget, { maxRetriesPerRequest, connectTimeout }: RedisClientOptions): RedisClient {
  const timeout = connectTimeout === undefined ? {} : { connectTimeout };
  if ('url' in target) return new Redis(target.url, { maxRetriesPerRequest, ...timeout });
  const { nodes, username, password, tls } = target.cluster;
  return new Cluster(nodes, {
    redisOptions: {
      maxRetriesPerRequest,
      ...timeout,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(tls ? { tls: {} } : {}),
    },
    // While a primary is failing over, the cluster answers CLUSTERDOWN or the node refuses
    // connections: retry after a pause (ioredis re-reads the slot map), not in a tight loop.
    retryDelayOnClusterDown: 300,
    retryDelayOnFailover: 300,
    retryDelayOnTryAgain: 300,
    // A node that is gone is dropped from the slot map as soon as the cluster says so.
    slotsRefreshInterval: 2000,
  });
}

/** For logs and /readyz: where Redis is, without credentials. */
export function describeRedis(target: RedisTarget): string {
  if ('url' in target) {
    const url = new URL(target.url);
    return `${url.protocol}//${url.hostname}:${url.port || 6379}${url.pathname}`;
  }
  const { nodes, tls } = target.cluster;
  return `redis cluster ${tls ? 'rediss' : 'redis'}://${nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(',')}`;
}
