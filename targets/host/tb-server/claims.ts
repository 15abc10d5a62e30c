/**
 * Device claiming as ThingsBoard does it: a device (or its gateway) sends a claim request with a
 * secret key and a duration; within it, a customer claims the device by name over REST with the
 * same key (ClaimDevicesServiceImpl.claimDevice). Both sides are logged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { deviceJson } from './admin';
import type { Ctx } from './context';
import { HttpError, readOptionalJsonObject, send } from './http-util';
import { LOCAL_CUSTOMER_ID, type DeviceRecord } from './registry';

/** A claim request from the device side (v1/devices/me/claim or v1/gateway/claim). */
export function recordClaimRequest(ctx: Ctx, device: DeviceRecord, secretKey: string, durationMs: number): void {
  const kept = ctx.registry.claim(device, secretKey, durationMs);
  ctx.emit({
    type: 'claim',
    device: device.name,
    detail: kept ? `claim request: secretKey ${secretKey === '' ? '(empty)' : `"${secretKey}"`} for ${durationMs} ms` : 'claim request ignored: an earlier one is still pending (a repeat does not extend it)',
  });
}

/**
 * `POST /api/customer/device/{deviceName}/claim` with an optional `{"secretKey": ...}`. ThingsBoard
 * answers 200 `{"device": {...}, "response": "SUCCESS"}`, or 400 with the bare JSON string
 * `"FAILURE"` (no request pending, expired, wrong key) or `"CLAIMED"` (already claimed), 404 for
 * an unknown name. There is one customer here (no users): LOCAL_CUSTOMER_ID.
 */
export async function handleClaimRoute(ctx: Ctx, req: IncomingMessage, res: ServerResponse, method: string, parts: string[]): Promise<boolean> {
  if (method !== 'POST' || parts.length !== 5 || parts[0] !== 'api' || parts[1] !== 'customer' || parts[2] !== 'device' || parts[4] !== 'claim') return false;
  const device = ctx.registry.get(parts[3]!);
  if (!device) throw new HttpError(404, "Requested item wasn't found!");
  const secretKey = await claimSecret(req);
  const outcome = ctx.registry.redeemClaim(device, secretKey, LOCAL_CUSTOMER_ID);
  ctx.emit({ type: 'claim', device: device.name, detail: `REST claim: ${outcome.response} (${outcome.why})` });
  if (outcome.response === 'SUCCESS') send(res, 200, { device: deviceJson(device, ctx.ota), response: 'SUCCESS' });
  else send(res, 400, outcome.response);
  return true;
}

/** The body is optional; no secretKey means "". */
async function claimSecret(req: IncomingMessage): Promise<string> {
  const body = await readOptionalJsonObject(req, 4_096);
  const key = body?.secretKey ?? '';
  if (typeof key !== 'string') throw new HttpError(400, 'secretKey must be a string');
  return key;
}
