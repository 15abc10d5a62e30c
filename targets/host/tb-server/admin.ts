/** Operations shared by the HTTP API and the programmatic API. */
import type { Ctx } from './context';
import { pushShared } from './downlink';
import type { OtaCatalog } from './ota-catalog';
import type { DeviceRecord, Entry } from './registry';
import type { Json, JsonObject } from './types';

export function setSharedAttributes(ctx: Ctx, device: DeviceRecord, values: JsonObject): void {
  const keys = ctx.registry.saveAttributes(device.sharedAttributes, values);
  if (keys.length === 0) return;
  const data: JsonObject = {};
  for (const k of keys) data[k] = device.sharedAttributes.get(k)!.value;
  pushShared(ctx, device, data);
}

export function deleteSharedAttributes(ctx: Ctx, device: DeviceRecord, keys: string[]): void {
  for (const k of keys) device.sharedAttributes.delete(k);
  if (keys.length) pushShared(ctx, device, { deleted: [...keys] });
}

export function entriesToObject(map: Map<string, Entry>): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const [k, e] of map) out[k] = e.value;
  return out;
}

/** ThingsBoard's id for "none" (ModelConstants.NULL_UUID). */
export const NULL_UUID = '13814000-1dd2-11b2-8080-808080808080';

export interface DeviceJson {
  id: { entityType: 'DEVICE'; id: string };
  createdTime: number;
  name: string;
  type: string;
  label: string;
  additionalInfo: { gateway: boolean };
  deviceProfileId: { entityType: 'DEVICE_PROFILE'; id: string };
  firmwareId: { entityType: 'OTA_PACKAGE'; id: string } | null;
  softwareId: null;
  /** ThingsBoard's NULL_UUID until a customer claimed the device. */
  customerId: { entityType: 'CUSTOMER'; id: string };
  /** Not in ThingsBoard's Device: the access token (ACCESS_TOKEN devices only), for convenience. */
  token?: string;
}

export function deviceJson(d: DeviceRecord, ota: OtaCatalog): DeviceJson {
  const out: DeviceJson = {
    id: { entityType: 'DEVICE', id: d.id },
    createdTime: d.createdTime,
    name: d.name,
    type: d.type,
    label: '',
    additionalInfo: { gateway: d.gateway },
    deviceProfileId: { entityType: 'DEVICE_PROFILE', id: ota.profileOf(d).id },
    firmwareId: d.firmwareId ? { entityType: 'OTA_PACKAGE', id: d.firmwareId } : null,
    softwareId: null,
    customerId: { entityType: 'CUSTOMER', id: d.customerId ?? NULL_UUID },
  };
  if (d.credentials.type === 'ACCESS_TOKEN') out.token = d.credentials.token;
  return out;
}
