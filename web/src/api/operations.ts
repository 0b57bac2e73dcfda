import { api, unwrap } from './client.ts';
import type { components } from './schema';

export type OperationRequest = components['schemas']['OperationRequest'];
export type OperationProgress = components['schemas']['OperationProgress'];
export type Task = components['schemas']['Task'];

/**
 * Runs an operation the way the API asks: a dry run first, then the real request carrying the
 * dry run's confirm token (irreversible actions refuse without it; the others accept it).
 */
export async function runOperation(request: OperationRequest): Promise<string> {
  const preview = await unwrap(api.POST('/operations', { body: { ...request, dryRun: true } }));
  const refused = 'users' in preview ? preview.users.find((u) => !u.allowed) : undefined;
  if (refused?.refusal) throw new Error(refused.refusal.message);
  const confirm = 'confirmToken' in preview ? preview.confirmToken : undefined;
  const accepted = await unwrap(api.POST('/operations', { body: { ...request, ...(confirm ? { confirm } : {}) } }));
  return (accepted as components['schemas']['OperationAccepted']).operationId;
}

export function getOperation(id: string): Promise<OperationProgress> {
  return unwrap(api.GET('/operations/{id}', { params: { path: { id } } }));
}

/** Polls until every task of the operation has finished; returns the final progress. */
export async function waitForOperation(id: string, onProgress?: (p: OperationProgress) => void): Promise<OperationProgress> {
  for (;;) {
    const progress = await getOperation(id);
    onProgress?.(progress);
    if (progress.state === 'completed') return progress;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
