/**
 * ThingsBoard's OTA REST, same paths and bodies: packages (create, upload, list, get, download),
 * device profiles (get, list, save with firmwareId) and the device update that assigns firmware.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { deviceJson } from './admin';
import type { Ctx } from './context';
import { HttpError, readBody, readJsonObject, send } from './http-util';
import { deviceProfileJson, entityId, OTA_LIMITS, OtaError, otaPackageJson, type OtaPackage } from './ota-catalog';
import { announceFirmware } from './ota-device';
import type { DeviceRecord } from './registry';
import type { Json } from './json';

/** Multipart framing around the file: a few KB at most. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/** Handles the route and returns true, or returns false when the path is not an OTA route. */
export async function handleOtaRoute(ctx: Ctx, req: IncomingMessage, res: ServerResponse, method: string, parts: string[], q: URLSearchParams): Promise<boolean> {
  try {
    return await route(ctx, req, res, method, parts, q);
  } catch (e) {
    if (e instanceof OtaError) throw new HttpError(e.status, e.message);
    throw e;
  }
}

async function route(ctx: Ctx, req: IncomingMessage, res: ServerResponse, method: string, parts: string[], q: URLSearchParams): Promise<boolean> {
  if (parts[0] !== 'api') return false;
  const path = parts.slice(1);
  // POST /api/otaPackage: {title, version, type, deviceProfileId, tag?, additionalInfo?}
  if (method === 'POST' && path.length === 1 && path[0] === 'otaPackage') {
    const pkg = ctx.ota.create(await readJsonObject(req));
    ctx.emit({ type: 'ota', device: '-', detail: `package ${pkg.title} ${pkg.version} created (${pkg.id})` });
    send(res, 200, otaPackageJson(pkg));
    return true;
  }
  // POST /api/otaPackage/{id}?checksumAlgorithm=SHA256[&checksum=...], multipart field "file"
  if (method === 'POST' && path.length === 2 && path[0] === 'otaPackage') {
    const id = path[1] as string;
    ctx.ota.need(id);
    const algorithm = q.get('checksumAlgorithm');
    if (!algorithm) throw new HttpError(400, "Required request parameter 'checksumAlgorithm' for method parameter type ChecksumAlgorithm is not present");
    const file = await readFile(req);
    const pkg = ctx.ota.upload(id, file.data, file.name, file.type, algorithm, q.get('checksum') ?? undefined);
    ctx.emit({ type: 'ota', device: '-', detail: `package ${pkg.title} ${pkg.version}: ${pkg.data!.length} bytes uploaded, ${pkg.checksumAlgorithm} ${pkg.checksum}` });
    for (const d of ctx.registry.all()) announceFirmware(ctx, d);
    send(res, 200, otaPackageJson(pkg));
    return true;
  }
  // GET /api/otaPackages?pageSize=&page=[&textSearch=] and /api/otaPackages/{deviceProfileId}/{type}?...
  if (method === 'GET' && path[0] === 'otaPackages' && (path.length === 1 || path.length === 3)) {
    let list = ctx.ota.all();
    if (path.length === 3) list = list.filter((p) => p.deviceProfileId === path[1] && p.type === path[2] && p.data !== undefined);
    const text = (q.get('textSearch') ?? '').toLowerCase();
    if (text) list = list.filter((p) => p.title.toLowerCase().includes(text));
    send(res, 200, page(list.map(otaPackageJson), q));
    return true;
  }
  // GET /api/otaPackage/info/{id}, /api/otaPackage/{id}, /api/otaPackage/{id}/download
  if (method === 'GET' && path[0] === 'otaPackage' && path.length >= 2) {
    if (path[1] === 'info' && path.length === 3) {
      send(res, 200, otaPackageJson(ctx.ota.need(path[2] as string)));
      return true;
    }
    const pkg = ctx.ota.need(path[1] as string);
    if (path.length === 2) {
      send(res, 200, otaPackageJson(pkg));
      return true;
    }
    if (path.length === 3 && path[2] === 'download') {
      if (!pkg.data) throw new HttpError(404, 'OTA package has no data');
      res.writeHead(200, {
        'content-type': pkg.contentType || 'application/octet-stream',
        'content-length': pkg.data.length,
        'content-disposition': `attachment; filename="${pkg.fileName ?? 'firmware.bin'}"`,
        'x-filename': pkg.fileName ?? 'firmware.bin',
      });
      res.end(pkg.data);
      return true;
    }
  }
  // DELETE /api/otaPackage/{id}: refused while assigned, as ThingsBoard does.
  if (method === 'DELETE' && path[0] === 'otaPackage' && path.length === 2) {
    const pkg = ctx.ota.need(path[1] as string);
    if (ctx.registry.all().some((d) => ctx.ota.firmwareFor(d) === pkg)) throw new HttpError(400, "The otaPackage referenced by the devices cannot be deleted!");
    ctx.ota.remove(pkg.id);
    send(res, 200, undefined);
    return true;
  }
  // GET /api/deviceProfile/{id}, GET /api/deviceProfiles?pageSize=&page=, GET /api/deviceProfileInfo/default
  if (method === 'GET' && path[0] === 'deviceProfile' && path.length === 2) {
    const p = ctx.ota.profile(path[1] as string);
    if (!p) throw new HttpError(404, "Requested item wasn't found!");
    send(res, 200, deviceProfileJson(p));
    return true;
  }
  if (method === 'GET' && path[0] === 'deviceProfiles' && path.length === 1) {
    for (const d of ctx.registry.all()) ctx.ota.profileOf(d);
    send(res, 200, page(ctx.ota.profiles().map(deviceProfileJson), q));
    return true;
  }
  // POST /api/deviceProfile: the profile's JSON with firmwareId (null unassigns).
  if (method === 'POST' && path.length === 1 && path[0] === 'deviceProfile') {
    const body = await readJsonObject(req);
    const id = entityId(body.id);
    const profile = id ? ctx.ota.profile(id) : ctx.ota.profileNamed(stringField(body.name, 'Device profile name should be specified!'));
    if (!profile) throw new HttpError(404, "Requested item wasn't found!");
    if ('firmwareId' in body) {
      const fw = entityId(body.firmwareId);
      if (fw) ctx.ota.assignable(fw, profile.id);
      profile.firmwareId = fw;
      for (const d of ctx.registry.all()) if (ctx.ota.profileOf(d) === profile) announceFirmware(ctx, d);
    }
    send(res, 200, deviceProfileJson(profile));
    return true;
  }
  return false;
}

/**
 * POST /api/device with an existing device's JSON (its `id`): ThingsBoard saves the whole
 * device; the local server applies `firmwareId` (null: back to the profile's).
 */
export function updateDevice(ctx: Ctx, rec: DeviceRecord, body: Record<string, Json>): ReturnType<typeof deviceJson> {
  if (typeof body.name === 'string' && body.name !== rec.name) throw new HttpError(400, 'Renaming a device is not supported by the local server');
  if (typeof body.type === 'string' && body.type !== rec.type) throw new HttpError(400, 'Changing the device profile is not supported by the local server');
  try {
    if ('firmwareId' in body) {
      const fw = entityId(body.firmwareId);
      if (fw) ctx.ota.assignable(fw, ctx.ota.profileOf(rec).id);
      rec.firmwareId = fw;
      announceFirmware(ctx, rec);
    }
  } catch (e) {
    if (e instanceof OtaError) throw new HttpError(e.status, e.message);
    throw e;
  }
  return deviceJson(rec, ctx.ota);
}

/** ThingsBoard's PageData: `page` counts from 0; pageSize is required. */
function page(items: Json[], q: URLSearchParams): Json {
  const sizeText = q.get('pageSize');
  if (sizeText === null) throw new HttpError(400, "Required request parameter 'pageSize' for method parameter type int is not present");
  const pageSize = Number(sizeText);
  const n = Number(q.get('page') ?? '0');
  if (!Number.isInteger(pageSize) || pageSize < 1 || !Number.isInteger(n) || n < 0) throw new HttpError(400, 'pageSize must be >= 1 and page >= 0');
  const data = items.slice(n * pageSize, (n + 1) * pageSize);
  const totalPages = Math.ceil(items.length / pageSize);
  return { data, totalPages, totalElements: items.length, hasNext: n + 1 < totalPages };
}

function stringField(value: Json | undefined, message: string): string {
  if (typeof value !== 'string' || value === '') throw new HttpError(400, message);
  return value;
}

/** The multipart field `file` (Node's own multipart parser, the one fetch's Response uses). */
async function readFile(req: IncomingMessage): Promise<{ data: Buffer; name: string; type: string }> {
  const contentType = req.headers['content-type'] ?? '';
  if (!contentType.startsWith('multipart/form-data')) throw new HttpError(400, "Current request is not a multipart request (send the file as multipart field 'file')");
  const body = await readBody(req, OTA_LIMITS.packageBytes + MULTIPART_OVERHEAD_BYTES);
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch (e) {
    throw new HttpError(400, 'Invalid multipart body: ' + (e instanceof Error ? e.message : String(e)));
  }
  const file = form.get('file');
  if (!file || typeof file === 'string') throw new HttpError(400, "Required request part 'file' is not present");
  return { data: Buffer.from(await file.arrayBuffer()), name: (file as File).name || 'firmware.bin', type: file.type || 'application/octet-stream' };
}

export type { OtaPackage };
