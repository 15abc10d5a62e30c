/**
 * Admin REST API shaped like ThingsBoard's (no authentication): devices, server-side RPC, shared
 * attributes, latest telemetry and attributes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { deleteSharedAttributes, deviceJson, setSharedAttributes } from './admin';
import type { Ctx } from './context';
import { RegistryError, type DeviceRecord } from './registry';
import { RpcError } from './rpc';
import type { Json } from './types';
import { isObject } from './values';
import { HttpError, readJsonObject, send } from './http-util';
import { entityId } from './ota-catalog';
import { handleOtaRoute, updateDevice } from './ota-api';
import { handleClaimRoute } from './claims';
import { Dashboard } from './dashboard/routes';

const RPC_STATUS: Record<string, number> = {
  TIMEOUT: 504, // ThingsBoard: GATEWAY_TIMEOUT
  NO_ACTIVE_CONNECTION: 409, // ThingsBoard: CONFLICT
  TOO_MANY_REQUESTS: 429,
  CLOSED: 503,
};

export class HttpApi {
  private server: Server | undefined;
  port = 0;
  /** The page at `/` and its live stream (dashboard/). */
  private readonly dashboard: Dashboard;

  constructor(private readonly ctx: Ctx) {
    this.dashboard = new Dashboard(ctx);
  }

  async start(port: number, host: string): Promise<number> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        const status = e instanceof HttpError ? e.status : 500;
        send(res, status, { status, message: e instanceof Error ? e.message : String(e), timestamp: Date.now() });
      });
    });
    server.requestTimeout = 60_000;
    server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : port;
    return this.port;
  }

  async stop(): Promise<void> {
    this.dashboard.close();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    if (await this.dashboard.handle(res, method, parts, q)) return;

    // POST /api/device[?accessToken=T]
    if (method === 'POST' && parts.join('/') === 'api/device') {
      const body = await readJsonObject(req);
      // With the id of an existing device: an update (the firmware assignment, for OTA).
      const existing = entityId(body.id);
      if (existing !== undefined) return send(res, 200, updateDevice(this.ctx, this.device(existing), body));
      const info = isObject(body.additionalInfo) ? body.additionalInfo : {};
      const name = body.name;
      if (typeof name !== 'string') throw new HttpError(400, 'Device name should be specified!');
      const token = typeof body.token === 'string' ? body.token : q.get('accessToken') ?? undefined;
      try {
        const rec = this.ctx.registry.create({
          name,
          ...(typeof body.type === 'string' ? { type: body.type } : {}),
          gateway: body.gateway === true || info.gateway === true,
          ...(token ? { token } : {}),
        });
        return send(res, 200, deviceJson(rec, this.ctx.ota));
      } catch (e) {
        if (e instanceof RegistryError) throw new HttpError(400, e.message);
        throw e;
      }
    }
    // GET /api/tenant/devices?deviceName=NAME
    if (method === 'GET' && parts.join('/') === 'api/tenant/devices') {
      const rec = this.ctx.registry.get(q.get('deviceName') ?? '');
      if (!rec) throw new HttpError(404, 'Requested item wasn\'t found!');
      return send(res, 200, deviceJson(rec, this.ctx.ota));
    }
    // GET /api/device/{id}[/credentials]
    if (method === 'GET' && parts[0] === 'api' && parts[1] === 'device' && parts.length >= 3) {
      const rec = this.device(parts[2]!);
      if (parts.length === 3) return send(res, 200, deviceJson(rec, this.ctx.ota));
      if (parts.length === 4 && parts[3] === 'credentials') {
        const c = rec.credentials;
        return send(res, 200, {
          deviceId: { entityType: 'DEVICE', id: rec.id },
          credentialsType: c.type,
          credentialsId: c.type === 'ACCESS_TOKEN' ? c.token : null,
          credentialsValue: c.type === 'MQTT_BASIC' ? JSON.stringify({ clientId: c.clientId, userName: c.userName, password: c.password }) : null,
        });
      }
    }
    // POST /api/plugins/rpc/{twoway|oneway}/{id} and /api/rpc/{twoway|oneway}/{id}
    const rpcAt = parts[1] === 'plugins' && parts[2] === 'rpc' ? 3 : parts[1] === 'rpc' ? 2 : -1;
    if (method === 'POST' && parts[0] === 'api' && rpcAt > 0 && parts.length === rpcAt + 2) {
      const kind = parts[rpcAt];
      if (kind !== 'twoway' && kind !== 'oneway') throw new HttpError(404, 'Not found');
      const rec = this.device(parts[rpcAt + 1]!);
      return this.rpc(res, rec, kind === 'oneway', await readJsonObject(req));
    }
    // /api/plugins/telemetry/DEVICE/{id}/... (the DEVICE segment is optional, as in ThingsBoard)
    if (parts[0] === 'api' && parts[1] === 'plugins' && parts[2] === 'telemetry') {
      const rest = parts.slice(3);
      if (rest[0] === 'DEVICE') rest.shift();
      else if (rest[0] !== undefined && rest[1] !== undefined && /^[A-Z_]+$/.test(rest[0]) && !rest[0].endsWith('_SCOPE')) {
        throw new HttpError(400, `Unsupported entity type ${rest[0]}`);
      }
      const rec = this.device(rest[0] ?? '');
      return this.telemetry(req, res, method, rec, rest.slice(1), q);
    }
    if (await handleOtaRoute(this.ctx, req, res, method, parts, q)) return;
    if (await handleClaimRoute(this.ctx, req, res, method, parts)) return;
    throw new HttpError(404, `No route for ${method} ${url.pathname}`);
  }

  private device(id: string): DeviceRecord {
    const rec = this.ctx.registry.getById(id);
    if (!rec) throw new HttpError(404, 'Requested item wasn\'t found!');
    return rec;
  }

  private async rpc(res: ServerResponse, rec: DeviceRecord, oneway: boolean, body: Record<string, Json>): Promise<void> {
    if (typeof body.method !== 'string') throw new HttpError(400, 'RPC request must have a "method"');
    const asked = typeof body.timeout === 'number' ? body.timeout : this.ctx.opts.rpcTimeoutMs;
    const timeoutMs = Math.max(this.ctx.opts.rpcMinTimeoutMs, asked);
    try {
      const reply = await this.ctx.rpc.send(rec, body.method, body.params ?? null, { timeoutMs, oneway });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(reply.raw);
    } catch (e) {
      if (!(e instanceof RpcError)) throw e;
      throw new HttpError(RPC_STATUS[e.code] ?? 500, e.message);
    }
  }

  private async telemetry(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    rec: DeviceRecord,
    rest: string[],
    q: URLSearchParams,
  ): Promise<void> {
    const keys = q.get('keys') === null ? undefined : q.get('keys')!.split(',').filter(Boolean);
    const path = rest.join('/');
    if (method === 'GET' && path === 'values/timeseries') {
      const strict = q.get('useStrictDataTypes') === 'true';
      if (q.get('startTs') !== null || q.get('endTs') !== null) return send(res, 200, history(rec, keys, q, strict));
      const out: Record<string, { ts: number; value: Json }[]> = {};
      for (const [k, e] of rec.telemetry) {
        if (keys && !keys.includes(k)) continue;
        out[k] = [{ ts: e.ts, value: strict ? e.value : asString(e.value) }];
      }
      return send(res, 200, out);
    }
    if (method === 'GET' && (path === 'values/attributes' || rest[0] === 'values' && rest[1] === 'attributes' && rest.length === 3)) {
      const scope = rest[2];
      const maps =
        scope === undefined ? [rec.clientAttributes, rec.sharedAttributes]
        : scope === 'CLIENT_SCOPE' ? [rec.clientAttributes]
        : scope === 'SHARED_SCOPE' ? [rec.sharedAttributes]
        : scope === 'SERVER_SCOPE' ? []
        : undefined;
      if (!maps) throw new HttpError(400, `Invalid scope ${scope}`);
      const out: { key: string; value: Json; lastUpdateTs: number }[] = [];
      for (const m of maps) for (const [k, e] of m) if (!keys || keys.includes(k)) out.push({ key: k, value: e.value, lastUpdateTs: e.ts });
      return send(res, 200, out);
    }
    if (method === 'GET' && path === 'keys/timeseries') return send(res, 200, [...rec.telemetry.keys()]);
    if (method === 'GET' && path === 'keys/attributes') {
      return send(res, 200, [...rec.clientAttributes.keys(), ...rec.sharedAttributes.keys()]);
    }
    // POST .../attributes/SHARED_SCOPE or .../SHARED_SCOPE
    const scope = rest[0] === 'attributes' && rest.length === 2 ? rest[1] : rest.length === 1 ? rest[0] : undefined;
    if (method === 'POST' && scope !== undefined) {
      if (scope !== 'SHARED_SCOPE') throw new HttpError(400, `Only SHARED_SCOPE is supported here, not ${scope}`);
      setSharedAttributes(this.ctx, rec, await readJsonObject(req));
      return send(res, 200, undefined);
    }
    if (method === 'DELETE' && rest.length === 1 && scope !== undefined) {
      if (scope !== 'SHARED_SCOPE') throw new HttpError(400, `Only SHARED_SCOPE is supported here, not ${scope}`);
      if (!keys || keys.length === 0) throw new HttpError(400, 'Required request parameter \'keys\' is not present');
      deleteSharedAttributes(this.ctx, rec, keys);
      return send(res, 200, undefined);
    }
    throw new HttpError(404, `No route for ${method} telemetry/${path}`);
  }
}

function asString(v: Json): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * ThingsBoard's history query (agg NONE): per key the values with startTs <= ts < endTs, `limit`
 * of them (default 100) from the newest (orderBy DESC, the default) or the oldest (ASC). Keys
 * without values in the range are left out, as ThingsBoard does.
 */
function history(rec: DeviceRecord, keys: string[] | undefined, q: URLSearchParams, strict: boolean): Record<string, { ts: number; value: Json }[]> {
  if (!keys || keys.length === 0) throw new HttpError(400, "Required request parameter 'keys' is not present");
  const startTs = integerParam(q, 'startTs');
  const endTs = integerParam(q, 'endTs');
  if (startTs === undefined || endTs === undefined) throw new HttpError(400, "Required request parameters 'startTs' and 'endTs' are not present");
  const limit = integerParam(q, 'limit') ?? 100;
  if (limit < 1) throw new HttpError(400, 'limit must be positive');
  const order = (q.get('orderBy') ?? 'DESC').toUpperCase();
  if (order !== 'ASC' && order !== 'DESC') throw new HttpError(400, 'orderBy must be ASC or DESC');
  const agg = q.get('agg') ?? 'NONE';
  if (agg !== 'NONE') throw new HttpError(400, 'only agg=NONE is supported by the local server');
  const out: Record<string, { ts: number; value: Json }[]> = {};
  for (const key of keys) {
    const inRange = (rec.history.get(key) ?? []).filter((e) => e.ts >= startTs && e.ts < endTs);
    const picked = order === 'DESC' ? inRange.reverse().slice(0, limit) : inRange.slice(0, limit);
    if (picked.length > 0) out[key] = picked.map((e) => ({ ts: e.ts, value: strict ? e.value : asString(e.value) }));
  }
  return out;
}

function integerParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!/^-?\d+$/.test(v)) throw new HttpError(400, name + ' must be an integer, got "' + v + '"');
  return Number(v);
}
