/**
 * The dashboard's HTTP routes on the REST port (http-api.ts delegates here first):
 *   GET /                    the page (index.html)
 *   GET /dashboard/app.js    the page's script (bundle.ts), /dashboard/app.css its styles
 *   GET /dashboard/devices   the device list with online state and last activity (JSON)
 *   GET /dashboard/events    the live stream (server-sent events, live-feed.ts)
 * Everything else the page does goes through ThingsBoard's REST paths.
 */
import type { ServerResponse } from 'node:http';
import type { Ctx } from '../context';
import { send } from '../http-util';
import { dashboardAssets, DashboardBuildError } from './bundle';
import { LiveFeed } from './live-feed';

const TYPES = { html: 'text/html; charset=utf-8', css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8' } as const;

export class Dashboard {
  private readonly feed: LiveFeed;

  constructor(ctx: Ctx) {
    this.feed = new LiveFeed(ctx);
  }

  /**
   * Answers and returns true, or returns false when the path is not the dashboard's. Sees every
   * request first: a telemetry-API write on a device is noted for the live stream once answered
   * (a shared attribute set while the device is offline causes no event).
   */
  async handle(res: ServerResponse, method: string, parts: string[], q: URLSearchParams): Promise<boolean> {
    if (method !== 'GET') {
      const id = telemetryApiDevice(parts);
      if (id !== undefined) res.once('finish', () => this.feed.changed(id));
      return false;
    }
    const path = parts.join('/');
    if (path === '' || path === 'index.html') return this.asset(res, 'html');
    if (path === 'dashboard/app.js') return this.asset(res, 'js');
    if (path === 'dashboard/app.css') return this.asset(res, 'css');
    if (path === 'dashboard/devices') {
      send(res, 200, this.feed.devices());
      return true;
    }
    if (path === 'dashboard/events') {
      this.feed.attach(res, q.get('device') ?? undefined);
      return true;
    }
    return false;
  }

  close(): void {
    this.feed.close();
  }

  private async asset(res: ServerResponse, kind: keyof typeof TYPES): Promise<true> {
    try {
      const body = (await dashboardAssets())[kind];
      // Rebuilt per process: a browser must ask again after a restart.
      res.writeHead(200, { 'content-type': TYPES[kind], 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache' });
      res.end(body);
    } catch (e) {
      if (!(e instanceof DashboardBuildError)) throw e;
      // Said in the page itself (and in the server's answer to curl), never a blank page.
      const text = 'tbxs dashboard: ' + e.message;
      const body = kind === 'html' ? '<!doctype html><meta charset="utf-8"><title>tbxs dashboard</title><h1>The dashboard is not available</h1><pre>' + escapeHtml(text) + '</pre>' : text;
      res.writeHead(500, { 'content-type': kind === 'html' ? TYPES.html : 'text/plain; charset=utf-8' });
      res.end(body);
    }
    return true;
  }
}

/** The device id of /api/plugins/telemetry/[DEVICE/]{id}/... */
function telemetryApiDevice(parts: string[]): string | undefined {
  if (parts[0] !== 'api' || parts[1] !== 'plugins' || parts[2] !== 'telemetry') return undefined;
  return parts[3] === 'DEVICE' ? parts[4] : parts[3];
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
