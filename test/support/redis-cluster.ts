import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/store/database.ts';

/** Whether this machine can run a local Redis Cluster (Debian's redis-server package has both binaries). */
export function redisClusterBinaries(): boolean {
  return ['redis-server', 'redis-cli'].every((binary) => spawnSync(binary, ['--version']).status === 0);
}

export interface ClusterNode {
  port: number;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

export interface LocalRedisCluster {
  nodes: ClusterNode[];
  /** `127.0.0.1:P,…` of every node: the REDIS_CLUSTER_NODES value. */
  seeds: string;
  /** The primary that serves `key`'s slot now, and its replicas, by port. */
  ownerOf(key: string): Promise<{ primary: number; replicas: number[] }>;
  /** Every key on each running primary, by port. */
  keysByPrimary(): Promise<Map<number, string[]>>;
  /** Resolves when every node still running says cluster_state:ok. */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster on loopback: `primaries` primaries with `replicasEach` replicas each, no
 * persistence, in a temporary directory. Node timeout 2 s so a killed primary's replica takes
 * over within a few seconds. stop() kills every node and removes the directory.
 */
export async function startRedisCluster({ primaries = 3, replicasEach = 1, nodeTimeoutMs = 2000 } = {}): Promise<LocalRedisCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'turnover-redis-cluster-'));
  const nodes: ClusterNode[] = [];
  const stop = async () => {
    for (const node of nodes) if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
    await Promise.all(nodes.map((n) => n.exited));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < primaries * (1 + replicasEach); i++) {
      // The bus port is given explicitly: port+10000, the default, may be past 65535 for an ephemeral port.
      const [port, busPort] = [await freePort(), await freePort()];
      const child = spawn(
        'redis-server',
        [
          '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1',
          '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', String(nodeTimeoutMs),
          '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', `redis-${port}.log`,
        ],
        { stdio: 'ignore' },
      );
      nodes.push({ port, child, exited: new Promise((resolve) => child.once('exit', () => resolve())) });
    }
    await Promise.all(nodes.map((n) => waitForPing(n.port)));
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicasEach), '--cluster-yes'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${created.stdout}\n${created.stderr}`);
  } catch (error) {
    await stop();
    throw error;
  }

  const running = () => nodes.filter((n) => n.child.exitCode === null && n.child.signalCode === null);
  const onNode = async <T>(port: number, run: (redis: Redis) => Promise<T>): Promise<T> => {
    const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    redis.on('error', () => {});
    try {
      await redis.connect();
      return await run(redis);
    } finally {
      redis.disconnect();
    }
  };
  const cluster: LocalRedisCluster = {
    nodes,
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    async ownerOf(key) {
      const [first] = running();
      return onNode(first!.port, async (redis) => {
        const slot = (await redis.call('CLUSTER', 'KEYSLOT', key)) as number;
        const table = parseClusterNodes((await redis.call('CLUSTER', 'NODES')) as string);
        const primary = table.find((n) => n.flags.includes('master') && !n.flags.includes('fail') && n.slots.some(([a, b]) => slot >= a && slot <= b));
        if (!primary) throw new Error(`no primary serves slot ${slot}`);
        return { primary: primary.port, replicas: table.filter((n) => n.primaryId === primary.id).map((n) => n.port) };
      });
    },
    async keysByPrimary() {
      const keys = new Map<number, string[]>();
      for (const node of running()) {
        await onNode(node.port, async (redis) => {
          if (/role:master/.test(await redis.info('replication'))) keys.set(node.port, await redis.keys('*'));
        });
      }
      return keys;
    },
    async waitUntilHealthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const states = await Promise.all(
          running().map((n) => onNode(n.port, async (r) => /cluster_state:ok/.test((await r.call('CLUSTER', 'INFO')) as string)).catch(() => false)),
        );
        if (states.every(Boolean)) return;
        if (Date.now() > deadline) throw new Error('the Redis Cluster did not become healthy');
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    stop,
  };
  try {
    await cluster.waitUntilHealthy();
  } catch (error) {
    await stop();
    throw error;
  }
  return cluster;
}

interface NodeLine {
  id: string;
  port: number;
  flags: string[];
  primaryId: string | null;
  slots: Array<[number, number]>;
}

/** CLUSTER NODES: `<id> <ip:port@cport> <flags> <primary|-> <ping> <pong> <epoch> <link> <slot…>`. */
function parseClusterNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, primaryId, , , , , ...slots] = line.trim().split(' ');
      return {
        id: id!,
        port: Number(/:(\d+)@/.exec(address!)![1]),
        flags: flags!.split(','),
        primaryId: primaryId === '-' ? null : primaryId!,
        slots: slots.filter((s) => !s.startsWith('[')).map((s) => {
          const [a, b = a] = s.split('-').map(Number);
          return [a!, b!] as [number, number];
        }),
      };
    });
}

async function waitForPing(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {});
    try {
      await redis.connect();
      if ((await redis.ping()) === 'PONG') return;
    } catch {
      // not listening yet
    } finally {
      redis.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
