import express, { type Router } from 'express';
import type { ApiContext } from '../http/context.ts';

/** The SCIM 2.0 service provider, mounted at /scim/v2 (issue 3). */
export function createScimRouter(_context: ApiContext): Router {
  return express.Router();
}
