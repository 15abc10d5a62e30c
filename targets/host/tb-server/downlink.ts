/** Server-to-device pushes: shared attribute updates and server-side RPC requests. */
import type { Ctx } from './context';
import type { DeviceRecord } from './registry';
import type { RpcTransport } from './rpc';
import { subscribedQos } from './session';
import { T } from './topics';
import type { JsonObject } from './types';

/** `{k:v}` or `{"deleted":[...]}`: to the device if subscribed, to its gateway for a child. */
export function pushShared(ctx: Ctx, device: DeviceRecord, data: JsonObject): void {
  const s = ctx.sessions.ofDevice(device);
  if (s && !s.closed && s.subs.has(T.attributes)) ctx.send(s, T.attributes, data);
  const gw = ctx.sessions.gatewayOf(device);
  if (gw && !gw.closed) ctx.send(gw, T.gwAttributes, { device: device.name, data });
}

export function rpcTransport(ctx: Ctx): RpcTransport {
  return (req) => {
    const topic = T.rpcRequestPrefix + req.id;
    const s = ctx.sessions.ofDevice(req.device);
    if (s && !s.closed && subscribedQos(s, topic) !== undefined) {
      ctx.send(s, topic, { method: req.method, params: req.params });
      return true;
    }
    const gw = ctx.sessions.gatewayOf(req.device);
    if (gw && !gw.closed) {
      ctx.send(gw, T.gwRpc, { device: req.device.name, data: { id: req.id, method: req.method, params: req.params } });
      return true;
    }
    return false;
  };
}
