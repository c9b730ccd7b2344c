// GET /metrics: the hub's metrics in Prometheus's text format, behind the admin
// token like the admin API (`Authorization: Bearer <admin token>`; Prometheus's
// `authorization.credentials_file`). Refused without it: 401 UNAUTHORIZED, and
// wrong tokens count toward the same per-address limit as every admin sign-in
// (SIGN_IN_RATE_LIMITED). docs/operate.md says why the token and not a port.
import type { RequestHandler } from 'express';
import { requireAdmin, type AdminRouterOptions } from './admin/api.ts';
import { sendError } from './admin/send-error.ts';
import type { HubMetrics } from '../metrics/metrics.ts';

export function metricsRoute(metrics: HubMetrics, auth: Pick<AdminRouterOptions, 'adminToken' | 'sessions'>): RequestHandler[] {
  return [
    requireAdmin(auth),
    (_req, res) => {
      metrics.text().then(
        (text) => {
          res.setHeader('content-type', metrics.contentType);
          res.setHeader('cache-control', 'no-store');
          res.send(text);
        },
        (error: unknown) => sendError(res, 'INTERNAL', `collecting the metrics failed: ${(error as Error).message}`),
      );
    },
  ];
}
