import express, { type Router } from 'express';
import type { ApiContext } from '../context.ts';

/** The admin API, mounted at /admin (issue 5). */
export function createAdminRouter(_context: ApiContext): Router {
  return express.Router();
}
