/** Publishes of a device session on v1/devices/me/*: telemetry, attributes, requests, RPC, claim. */
import { UNKNOWN_TOPIC, type AfterAck, type Ctx } from './context';
import { DEFAULT_CLAIM_MS, type DeviceRecord, type Entry } from './registry';
import type { Session } from './session';
import { T, suffixAfter } from './topics';
import { handleFirmwareRequest } from './ota-device';
import { recordClaimRequest } from './claims';
import type { Json, JsonObject } from './types';
import { ShapeError, castValues, keyList, parseJson, parseObject, parseTelemetry, topicId } from './values';

export function handleDevicePublish(ctx: Ctx, s: Session, device: DeviceRecord, topic: string, payload: Buffer): AfterAck {
  if (topic === T.telemetry) {
    for (const batch of parseTelemetry(parseJson(payload))) ctx.registry.saveTelemetry(device, batch.ts, batch.values);
    return;
  }
  if (topic === T.attributes) {
    ctx.registry.saveAttributes(device.clientAttributes, castValues(parseObject(payload, 'attributes')));
    return;
  }
  if (topic === T.claim) {
    const req = payload.length === 0 ? {} : parseObject(payload, 'claim');
    const { secretKey, durationMs } = claimFields(req);
    recordClaimRequest(ctx, device, secretKey, durationMs);
    return;
  }
  let id = suffixAfter(topic, T.attrRequestPrefix);
  if (id !== undefined) {
    const reqId = topicId(id);
    const req = payload.length === 0 ? {} : parseObject(payload, 'attribute request');
    const response = attributeResponse(device, keyList(req.clientKeys, 'clientKeys'), keyList(req.sharedKeys, 'sharedKeys'));
    return () => ctx.send(s, T.attrResponsePrefix + reqId, response);
  }
  id = suffixAfter(topic, T.rpcResponsePrefix);
  if (id !== undefined) {
    const reqId = topicId(id);
    if (payload.length === 0) throw new ShapeError('empty RPC response');
    ctx.rpc.reply(device, reqId, payload.toString('utf8'));
    return;
  }
  id = suffixAfter(topic, T.rpcRequestPrefix);
  if (id !== undefined) {
    const reqId = topicId(id);
    const req = parseObject(payload, 'RPC request');
    if (typeof req.method !== 'string') throw new ShapeError('RPC request without "method"');
    const answer = clientRpc(ctx, s, device, req.method, req.params ?? null);
    return () => ctx.send(s, T.rpcResponsePrefix + reqId, answer);
  }
  id = suffixAfter(topic, T.fwRequestPrefix);
  if (id !== undefined) return handleFirmwareRequest(ctx, s, device, id, payload);
  // ThingsBoard: PUBACK (0x90 at MQTT 5), no disconnect.
  return UNKNOWN_TOPIC;
}

export function claimFields(req: JsonObject): { secretKey: string; durationMs: number } {
  const secretKey = req.secretKey ?? '';
  const durationMs = req.durationMs ?? DEFAULT_CLAIM_MS;
  if (typeof secretKey !== 'string') throw new ShapeError('claim: secretKey must be a string');
  if (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs < 0) {
    throw new ShapeError('claim: durationMs must be a number');
  }
  return { secretKey, durationMs };
}

function pick(map: Map<string, Entry>, keys: string[] | undefined): JsonObject {
  const out: JsonObject = {};
  if (keys === undefined) for (const [k, e] of map) out[k] = e.value;
  else for (const k of keys) {
    const e = map.get(k);
    if (e) out[k] = e.value;
  }
  return out;
}

/** `{client:{...},shared:{...}}`: only the groups asked for (both when neither), empty groups omitted. */
export function attributeResponse(device: DeviceRecord, clientKeys?: string[], sharedKeys?: string[]): JsonObject {
  const all = clientKeys === undefined && sharedKeys === undefined;
  const out: JsonObject = {};
  if (all || clientKeys) {
    const client = pick(device.clientAttributes, clientKeys);
    if (Object.keys(client).length) out.client = client;
  }
  if (all || sharedKeys) {
    const shared = pick(device.sharedAttributes, sharedKeys);
    if (Object.keys(shared).length) out.shared = shared;
  }
  return out;
}

function clientRpc(ctx: Ctx, s: Session, device: DeviceRecord, method: string, params: Json): Json {
  if (method === 'getSessionLimits') {
    const limits: JsonObject = {
      maxPayloadSize: ctx.opts.maxPayloadBytes,
      maxInflightMessages: ctx.opts.maxInflightMessages,
      rateLimits: { ...ctx.opts.rateLimits },
    };
    if (s.kind === 'gateway') limits.gatewayRateLimits = { ...ctx.opts.gatewayRateLimits };
    return limits;
  }
  const handler = ctx.opts.clientRpc[method];
  if (!handler) return { error: `Unsupported client-side RPC method: ${method}` };
  try {
    const r = handler(params, { name: device.name, type: device.type });
    return r === undefined ? null : r;
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

