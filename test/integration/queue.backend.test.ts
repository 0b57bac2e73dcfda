import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueueBackend, type QueueBackend } from '../../src/queue/backend.ts';
import { createTestDatabase, queueBackendsUnderTest } from '../support/database.ts';

describe.each(queueBackendsUnderTest())('queue backend on $name', ({ name, redisUrl }) => {
  let backend: QueueBackend;
  const prefix = `{turnover-test-${randomBytes(3).toString('hex')}}`;

  beforeAll(async () => {
    backend = await createQueueBackend({ redisUrl, databaseUrl: await createTestDatabase(`queue_${name}`), prefix });
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('is the backend the configuration asked for, and answers a ping', async () => {
    expect(backend.kind).toBe(name);
    await expect(backend.ping()).resolves.toBeUndefined();
    expect(backend.description).not.toMatch(/:[^@/]*@/); // no credentials in logs
  });

  it('delivers a job to a worker once, and a second add with the same jobId is ignored', async () => {
    const queueName = `roundtrip-${randomBytes(3).toString('hex')}`;
    const queue = backend.createQueue<{ n: number }>(queueName);
    const seen: number[] = [];
    const done = new Promise<void>((resolve) => {
      const worker = backend.createWorker<{ n: number }>(queueName, async (job) => {
        seen.push(job.data.n);
        if (job.data.n === 2) resolve();
        return job.data.n * 10;
      });
      worker.on('error', () => {});
    });
    await queue.add('work', { n: 1 }, { jobId: 'task-1' });
    await queue.add('work', { n: 99 }, { jobId: 'task-1' });
    await queue.add('work', { n: 2 }, { jobId: 'task-2' });
    await done;
    expect(seen.sort()).toEqual([1, 2]);
    // The first add won (seen has no 99); where the backend keeps completed jobs, it says so too.
    const job = await queue.getJob('task-1');
    if (job) expect(job.data).toEqual({ n: 1 });
  });

  it.runIf(name === 'redis')('keeps every key of a queue under one hash tag, as Redis Cluster requires', async () => {
    const queue = backend.createQueue(`tagged-${randomBytes(3).toString('hex')}`);
    await queue.add('x', {}, { jobId: 'tagged-1' });
    const redis = new Redis(redisUrl!);
    try {
      const keys = await redis.keys(`${prefix}:*`);
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.every((k) => k.startsWith(`${prefix}:`))).toBe(true);
    } finally {
      redis.disconnect();
    }
  });
});
