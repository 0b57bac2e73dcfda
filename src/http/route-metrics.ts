import type { Request, RequestHandler } from 'express';
import { httpRequestDuration, httpRequests } from '../metrics.ts';

/**
 * HTTP metrics by route template (`/scim/v2/Users/:id`), never by raw path, which would make a
 * series per user id.
 *
 * A request answered before it reached its route (a 401 from authentication, a 429, a body the
 * parser refused) has no `req.route`. It is counted under the template of a route already seen
 * that its path fits, so one route keeps one label whatever answered it; a path that fits none is
 * `unmatched`. Labels come only from routes, so a client cannot grow the series.
 */
export function countRequests(): RequestHandler {
  const templates = new RouteTemplates();
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = templates.label(req);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      httpRequests.inc({ route, method: req.method, status: String(res.statusCode) });
      httpRequestDuration.observe({ route, method: req.method, status_class: `${Math.floor(res.statusCode / 100)}xx` }, seconds);
    });
    next();
  };
}

class RouteTemplates {
  /** Template to its segments (`:id` matches any one segment). */
  private readonly known = new Map<string, string[]>();

  label(req: Request): string {
    const path = segments(req.originalUrl.split('?')[0] ?? '');
    const pattern = req.route?.path;
    // By `finish`, express has restored req.baseUrl: the mount is read back from the URL, whose
    // last segments are the route's. Patterns with wildcards or optional parts are fitted instead.
    if (typeof pattern === 'string' && !/[*{}]/.test(pattern)) {
      const own = segments(pattern);
      if (own.length <= path.length) {
        const template = '/' + [...path.slice(0, path.length - own.length), ...own].join('/');
        if (!this.known.has(template)) this.known.set(template, segments(template));
        return template;
      }
    }
    return this.fit(path) ?? 'unmatched';
  }

  /** The known template the path fits with the most literal segments (`/Users/.search` over `/Users/:id`). */
  private fit(path: string[]): string | undefined {
    let best: { template: string; literals: number } | undefined;
    for (const [template, parts] of this.known) {
      if (parts.length !== path.length) continue;
      let literals = 0;
      const fits = parts.every((part, i) => {
        if (part.startsWith(':')) return true;
        literals++;
        return part === path[i];
      });
      if (fits && (!best || literals > best.literals)) best = { template, literals };
    }
    return best?.template;
  }
}

function segments(path: string): string[] {
  return path.split('/').filter(Boolean);
}
