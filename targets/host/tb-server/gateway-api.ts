/** Publishes of a gateway session on v1/gateway/*: child sessions, their data, RPC replies, claims. */
import { UNKNOWN_TOPIC, type AfterAck, type Ctx } from './context';
import { claimFields } from './device-api';
import { recordClaimRequest } from './claims';
import { RegistryError, type DeviceRecord } from './registry';
import type { Session } from './session';
import { T } from './topics';
import type { Json, JsonObject } from './types';
import { ShapeError, castValues, isObject, parseObject, parseTelemetry } from './values';

/** A publish of a gateway session on a topic under GATEWAY_TOPIC_PREFIX. */
export function handleGatewayPublish(ctx: Ctx, gw: Session, topic: string, payload: Buffer): AfterAck {
  switch (topic) {
    case T.gwConnect: {
      const msg = parseObject(payload, 'gateway connect');
      const type = msg.type ?? msg.deviceType;
      if (type !== undefined && typeof type !== 'string') throw new ShapeError('gateway connect: type must be a string');
      child(ctx, gw, deviceName(msg.device), type);
      return;
    }
    case T.gwDisconnect: {
      const name = deviceName(parseObject(payload, 'gateway disconnect').device);
      const rec = gw.children.get(name);
      if (rec) {
        ctx.sessions.detachChild(gw, rec);
        ctx.emit({ type: 'child', gateway: gw.label, device: name, connected: false });
      }
      return;
    }
    case T.gwTelemetry:
      for (const [name, data] of Object.entries(parseObject(payload, 'gateway telemetry'))) {
        const batches = parseTelemetry(data);
        const rec = child(ctx, gw, deviceName(name));
        for (const b of batches) ctx.registry.saveTelemetry(rec, b.ts, b.values);
      }
      return;
    case T.gwAttributes:
      for (const [name, data] of Object.entries(parseObject(payload, 'gateway attributes'))) {
        if (!isObject(data)) throw new ShapeError('gateway attributes: expected {"Device":{...}}');
        ctx.registry.saveAttributes(child(ctx, gw, deviceName(name)).clientAttributes, castValues(data));
      }
      return;
    case T.gwClaim:
      for (const [name, data] of Object.entries(parseObject(payload, 'gateway claim'))) {
        if (!isObject(data)) throw new ShapeError('gateway claim: expected {"Device":{secretKey,durationMs}}');
        const { secretKey, durationMs } = claimFields(data);
        recordClaimRequest(ctx, child(ctx, gw, deviceName(name)), secretKey, durationMs);
      }
      return;
    case T.gwAttrRequest:
      return attributeRequest(ctx, gw, parseObject(payload, 'gateway attribute request'));
    case T.gwRpc: {
      const msg = parseObject(payload, 'gateway RPC reply');
      const name = deviceName(msg.device);
      if (typeof msg.id !== 'number' || !Number.isInteger(msg.id)) throw new ShapeError('gateway RPC reply: id must be an integer');
      const rec = ctx.registry.get(name);
      if (rec) ctx.rpc.reply(rec, msg.id, JSON.stringify(msg.data ?? null));
      return;
    }
    default:
      return UNKNOWN_TOPIC;
  }
}

function deviceName(v: Json | undefined): string {
  if (typeof v !== 'string' || v.length === 0) throw new ShapeError('gateway: "device" must be a non-empty string');
  return v;
}

/** The child device, created on first reference, with a session through this gateway. */
function child(ctx: Ctx, gw: Session, name: string, type?: string): DeviceRecord {
  let rec: DeviceRecord;
  try {
    rec = ctx.registry.getOrCreateChild(name, type, gw.label);
  } catch (e) {
    if (e instanceof RegistryError) throw new ShapeError(e.message);
    throw e;
  }
  if (rec.gateway || rec === gw.device) throw new ShapeError(`gateway: "${name}" is a gateway`);
  if (ctx.sessions.attachChild(gw, rec)) {
    ctx.emit({ type: 'child', gateway: gw.label, device: name, connected: true });
    ctx.rpc.flush(rec);
  }
  return rec;
}

function attributeRequest(ctx: Ctx, gw: Session, req: JsonObject): AfterAck {
  const id = req.id;
  if (typeof id !== 'number' || !Number.isInteger(id)) throw new ShapeError('gateway attribute request: id must be an integer');
  const name = deviceName(req.device);
  const client = req.client ?? false;
  if (typeof client !== 'boolean') throw new ShapeError('gateway attribute request: client must be a boolean');
  let keys: string[];
  if (typeof req.key === 'string') keys = [req.key];
  else if (Array.isArray(req.keys) && req.keys.every((k) => typeof k === 'string')) keys = req.keys as string[];
  else throw new ShapeError('gateway attribute request: needs "key" (string) or "keys" (array of strings)');
  const rec = child(ctx, gw, name);
  const map = client ? rec.clientAttributes : rec.sharedAttributes;
  const found: [string, Json][] = [];
  for (const k of keys) {
    const e = map.get(k);
    if (e) found.push([k, e.value]);
  }
  // ThingsBoard: one value found -> "value", several -> "values", none -> neither.
  const response: JsonObject = { id, device: name };
  if (found.length === 1) response.value = found[0]![1];
  else if (found.length > 1) response.values = Object.fromEntries(found);
  return () => ctx.send(gw, T.gwAttrResponse, response);
}
