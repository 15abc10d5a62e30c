/** Device provisioning (create-new strategy) on /provision/request -> /provision/response. */
import { randomUUID } from 'node:crypto';
import type { AfterAck, Ctx } from './context';
import { RegistryError, generateToken, type NewDevice } from './registry';
import type { Session } from './session';
import { T } from './topics';
import type { Json, JsonObject } from './types';
import { ShapeError, parseObject } from './values';

const NOT_FOUND: JsonObject = { status: 'NOT_FOUND', errorMsg: 'Provision data was not found!' };
const FAILURE: JsonObject = { status: 'FAILURE', errorMsg: 'Failed to provision device!' };

export function handleProvisionPublish(ctx: Ctx, s: Session, topic: string, payload: Buffer): AfterAck {
  if (topic !== T.provisionRequest) throw new ShapeError(`provisioning session may only publish ${T.provisionRequest}`);
  const response = provision(ctx, parseObject(payload, 'provision request'));
  ctx.emit({ type: 'provisioned', device: String(response.deviceName ?? ''), status: String(response.status) });
  delete response.deviceName;
  return () => {
    ctx.send(s, T.provisionResponse, response);
    if (!s.timer) s.timer = setTimeout(() => ctx.drop(s, 'provisioning session done'), ctx.opts.provisionCloseMs);
  };
}

function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The response body (plus `deviceName` for the event, removed before sending). */
export function provision(ctx: Ctx, req: JsonObject): JsonObject {
  const p = ctx.opts.provision;
  if (!p || req.provisionDeviceKey !== p.key || req.provisionDeviceSecret !== p.secret) return { ...NOT_FOUND };
  const name = str(req.deviceName) || randomUUID();
  if (ctx.registry.get(name)) return { ...FAILURE, deviceName: name };
  const type = str(req.credentialsType) ?? 'ACCESS_TOKEN';
  const spec: NewDevice = { name };
  let credentialsValue: Json;
  if (type === 'ACCESS_TOKEN') {
    spec.token = str(req.token) || generateToken();
    credentialsValue = spec.token;
  } else if (type === 'MQTT_BASIC') {
    const basic = {
      clientId: str(req.clientId) ?? '',
      userName: str(req.username) ?? '',
      password: str(req.password) ?? '',
    };
    if (!basic.clientId && !basic.userName) basic.clientId = generateToken();
    spec.basic = basic;
    credentialsValue = { ...basic };
  } else {
    return { ...FAILURE, deviceName: name }; // X509_CERTIFICATE is not supported here
  }
  try {
    ctx.registry.create(spec);
  } catch (e) {
    if (e instanceof RegistryError) return { ...FAILURE, deviceName: name };
    throw e;
  }
  return { status: 'SUCCESS', credentialsType: type, credentialsValue, deviceName: name };
}
