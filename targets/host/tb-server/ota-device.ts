/**
 * The MQTT side of OTA for one device: announcing its firmware in shared attributes when the
 * assignment changes (as ThingsBoard's OtaPackageStateService does), and answering its chunk
 * requests on `v2/fw/request/{requestId}/chunk/{chunk}`.
 */
import { deleteSharedAttributes, setSharedAttributes } from './admin';
import type { AfterAck, Ctx } from './context';
import { RC } from './mqtt-reason-codes';
import type { OtaPackage } from './ota-catalog';
import type { DeviceRecord } from './registry';
import type { Session } from './session';
import { T } from './topics';

/** Every attribute an announcement may set; the ones a new announcement does not set are deleted. */
const FW_ATTRIBUTES = ['fw_title', 'fw_version', 'fw_tag', 'fw_size', 'fw_checksum_algorithm', 'fw_checksum', 'fw_url'];

const CHUNK_REQUEST = /^(\d+)\/chunk\/(\d+)$/;

/**
 * Pushes the device's firmware when it differs from what was announced last: the fw_* shared
 * attributes (obsolete ones deleted), and the server's own telemetry target_fw_title,
 * target_fw_version, target_fw_ts and fw_state INITIATED. Unassigned: the attributes are deleted.
 */
export function announceFirmware(ctx: Ctx, device: DeviceRecord): void {
  const pkg = ctx.ota.firmwareFor(device);
  const id = pkg ? pkg.id : undefined;
  if (id === device.announcedFirmwareId) return;
  device.announcedFirmwareId = id;
  if (!pkg) {
    const present = FW_ATTRIBUTES.filter((k) => device.sharedAttributes.has(k));
    if (present.length) deleteSharedAttributes(ctx, device, present);
    ctx.emit({ type: 'ota', device: device.name, detail: 'firmware unassigned' });
    return;
  }
  const ts = Date.now();
  ctx.registry.saveTelemetry(device, ts, { target_fw_title: pkg.title, target_fw_version: pkg.version, target_fw_ts: ts, fw_state: 'INITIATED' });
  const values = {
    fw_title: pkg.title,
    fw_version: pkg.version,
    ...(pkg.tag ? { fw_tag: pkg.tag } : {}),
    fw_size: (pkg.data as Buffer).length,
    fw_checksum_algorithm: pkg.checksumAlgorithm as string,
    fw_checksum: pkg.checksum as string,
  };
  const obsolete = FW_ATTRIBUTES.filter((k) => !(k in values) && device.sharedAttributes.has(k));
  if (obsolete.length) deleteSharedAttributes(ctx, device, obsolete);
  setSharedAttributes(ctx, device, values);
  ctx.emit({ type: 'ota', device: device.name, detail: `firmware ${pkg.title} ${pkg.version} assigned (${values.fw_size} bytes, ${values.fw_checksum_algorithm} ${values.fw_checksum})` });
}

/**
 * `rest` is the topic after `v2/fw/request/`. The chunk goes after the PUBACK (ThingsBoard acks,
 * then writes); a bad request or no firmware gets a message on v2/fw/error, never silence. A chunk
 * size over the packet limit also closes the session, as ThingsBoard does.
 */
export function handleFirmwareRequest(ctx: Ctx, s: Session, device: DeviceRecord, rest: string, payload: Buffer): AfterAck {
  const m = CHUNK_REQUEST.exec(rest);
  const text = payload.toString('utf8').trim();
  const fail = (message: string, close = false): AfterAck => () => {
    ctx.emit({ type: 'ota', device: device.name, detail: `chunk request on v2/fw/request/${rest} refused: ${message}` });
    ctx.send(s, T.fwError, message, 1);
    if (close) ctx.drop(s, message, RC.implementationSpecific);
  };
  if (!m) return fail('Invalid firmware request topic: v2/fw/request/' + rest + ' (expected v2/fw/request/{requestId}/chunk/{chunk})');
  if (text !== '' && !/^\d+$/.test(text)) return fail('Invalid chunk size: ' + JSON.stringify(text.slice(0, 40)));
  const requestId = m[1] as string;
  const chunk = Number(m[2]);
  // ThingsBoard: an empty payload reuses the size this request id asked before (0: the whole image).
  let size = text === '' ? s.fwChunkSizes.get(requestId) ?? 0 : Number(text);
  if (text !== '') {
    if (!s.fwChunkSizes.has(requestId) && s.fwChunkSizes.size >= 16) s.fwChunkSizes.delete(s.fwChunkSizes.keys().next().value as string);
    s.fwChunkSizes.set(requestId, size);
  }
  const pkg: OtaPackage | undefined = ctx.ota.firmwareFor(device);
  if (!pkg || !pkg.data) return fail('No firmware assigned to the device');
  const data = pkg.data;
  if (size === 0) size = data.length;
  const responseTopic = `${T.fwResponsePrefix}${requestId}/chunk/${chunk}`;
  if (size + responseTopic.length + 8 > ctx.opts.maxPayloadBytes) return fail(`Chunk size ${size} is over the maximum payload size ${ctx.opts.maxPayloadBytes}`, true);
  const start = size * chunk;
  // Past the end: an empty payload (ThingsBoard's OtaPackageDataCache returns 0 bytes).
  const bytes = start < data.length ? data.subarray(start, Math.min(data.length, start + size)) : Buffer.alloc(0);
  return () => ctx.send(s, responseTopic, bytes);
}
