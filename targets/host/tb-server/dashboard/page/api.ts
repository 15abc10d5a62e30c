/**
 * The page's REST client: ThingsBoard's own paths (so what the page does is what a script against
 * a real server would do), plus the dashboard's device list. Every failure is an ApiError with
 * the HTTP status and ThingsBoard's `message`.
 */
import type { AttributeEntry, AttributeScope, DeviceSummary, JsonValue, TelemetryPoints } from '../protocol';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

type JsonObject = { [key: string]: JsonValue };

/**
 * One request; the body parsed as JSON when it is JSON, else the text (an RPC reply may be raw),
 * undefined when empty. Callers name the shape the path answers with.
 */
async function call(method: string, path: string, body?: JsonValue | FormData): Promise<unknown> {
  const init: RequestInit = { method };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'server unreachable: ' + (e instanceof Error ? e.message : String(e)));
  }
  const text = await res.text();
  let json: JsonValue | undefined;
  try {
    json = text === '' ? undefined : (JSON.parse(text) as JsonValue);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const message = isObject(json) && typeof json.message === 'string' ? json.message : text || res.statusText;
    throw new ApiError(res.status, res.status + ' ' + message);
  }
  return json === undefined && text !== '' ? text : json;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const enc = encodeURIComponent;
const telemetry = (id: string) => '/api/plugins/telemetry/DEVICE/' + enc(id);

export function listDevices(): Promise<DeviceSummary[]> {
  return call('GET', '/dashboard/devices') as Promise<DeviceSummary[]>;
}

/** ThingsBoard's Device JSON (what POST /api/device takes back, with firmwareId). */
export function getDevice(id: string): Promise<JsonObject> {
  return call('GET', '/api/device/' + enc(id)) as Promise<JsonObject>;
}

/** Two-way server-side RPC: the device's reply (JSON, or its raw text). */
export function rpc(id: string, method: string, params: JsonValue, timeoutMs = 5000): Promise<JsonValue | string | undefined> {
  return call('POST', '/api/plugins/rpc/twoway/' + enc(id), { method, params, timeout: timeoutMs }) as Promise<JsonValue | string | undefined>;
}

export function attributes(id: string, scope: AttributeScope): Promise<AttributeEntry[]> {
  return call('GET', telemetry(id) + '/values/attributes/' + scope) as Promise<AttributeEntry[]>;
}

export async function setShared(id: string, values: JsonObject): Promise<void> {
  await call('POST', telemetry(id) + '/attributes/SHARED_SCOPE', values);
}

export async function deleteShared(id: string, keys: string[]): Promise<void> {
  await call('DELETE', telemetry(id) + '/SHARED_SCOPE?keys=' + keys.map(enc).join(','));
}

/** Every value kept per key since `startTs` (the server keeps up to 1,000), oldest first. */
export async function history(id: string, startTs: number, limit: number): Promise<TelemetryPoints> {
  const keys = (await call('GET', telemetry(id) + '/keys/timeseries')) as string[];
  if (keys.length === 0) return {};
  const q = '?keys=' + keys.map(enc).join(',') + '&startTs=' + startTs + '&endTs=' + (Date.now() + 86_400_000) + '&limit=' + limit + '&orderBy=ASC&useStrictDataTypes=true';
  const byKey = (await call('GET', telemetry(id) + '/values/timeseries' + q)) as Record<string, { ts: number; value: JsonValue }[]>;
  const out: TelemetryPoints = {};
  for (const [key, list] of Object.entries(byKey)) out[key] = list.map((p) => [p.ts, p.value]);
  return out;
}

/**
 * ThingsBoard's three OTA steps: create the package for the device's profile, upload the file
 * (SHA256 computed by the server), assign it to the device. Returns the package id.
 */
export async function sendFirmware(deviceId: string, title: string, version: string, file: File): Promise<string> {
  const device = await getDevice(deviceId);
  const pkg = (await call('POST', '/api/otaPackage', { title, version, type: 'FIRMWARE', deviceProfileId: device.deviceProfileId ?? null })) as JsonObject;
  const pkgId = pkg.id as JsonObject;
  const form = new FormData();
  form.append('file', file, file.name);
  await call('POST', '/api/otaPackage/' + enc(String(pkgId.id)) + '?checksumAlgorithm=SHA256', form);
  await call('POST', '/api/device', { ...device, firmwareId: pkgId });
  return String(pkgId.id);
}
