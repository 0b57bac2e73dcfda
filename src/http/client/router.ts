import express, { type Router } from 'express';
import type { ApiContext } from '../context.ts';

/** The client API (/client/*) and the set-password page (/set-password), mounted at the root (issue 5). */
export function createClientRouter(_context: ApiContext): Router {
  return express.Router();
}
