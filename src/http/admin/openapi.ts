import { OpenAPIRegistry, OpenApiGeneratorV3 } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';

/**
 * The admin API's OpenAPI 3 document, generated from the registry every route was declared in
 * (route.ts): the same zod schemas that validate requests, so the document cannot be out of date.
 */
export function createAdminRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An admin token (`turnover token create --kind admin --role admin|office_manager`).',
  });
  return registry;
}

/** GET /openapi.json: public, like any API description; it holds no data. Built once, on first request. */
export function openApiRoute(router: Router, registry: OpenAPIRegistry): void {
  let document: unknown;
  router.get('/openapi.json', (_req, res) => {
    document ??= new OpenApiGeneratorV3(registry.definitions).generateDocument({
      openapi: '3.0.3',
      info: {
        title: 'turnover admin API',
        version: '1',
        description:
          'Operators act on users one or many at a time (operations with dry run, confirmation and progress), manage their data, settings, tokens and the audit trail. Errors are application/problem+json.',
      },
      servers: [{ url: '/admin' }],
    });
    res.json(document);
  });
}
