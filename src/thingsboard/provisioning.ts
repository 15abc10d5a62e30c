import type { Clock, TimerHandle } from '../platform/clock';
import { describeError } from '../platform/errors';
import { MqttSession, type MqttSessionOptions } from '../mqtt/session';
import type { DeviceCredentials } from './credentials';
import { TbError } from './errors';
import { isObject, parseJson, preview, type JsonObject } from './json';
import { PROVISION_REQUEST, PROVISION_RESPONSE, PROVISION_USERNAME } from './topics';
import { isString, isNonEmptyString } from '../platform/guards';

export interface ProvisionRequest {
  provisionDeviceKey: string;
  provisionDeviceSecret: string;
  deviceName?: string;
  /** Default ACCESS_TOKEN (the server generates a token unless `token` is given). */
  credentialsType?: 'ACCESS_TOKEN' | 'MQTT_BASIC' | 'X509_CERTIFICATE';
  token?: string;
  clientId?: string;
  username?: string;
  password?: string;
  /** X.509: the certificate's hash. */
  hash?: string;
}

/** Where and how to connect: the same fields the device's own session gets. */
export type ProvisionEndpoint = Pick<MqttSessionOptions, 'connector' | 'clock' | 'log' | 'random' | 'codec' | 'host' | 'port' | 'tls'>;

export interface ProvisionOptions extends ProvisionEndpoint {
  request: ProvisionRequest;
  /** The whole exchange, retries included. Default 30 s. */
  timeoutMs?: number;
}

/**
 * Provisions a device: connects as "provision" (a provisioning-only session on ThingsBoard),
 * publishes the request, waits for /provision/response, closes the session. Resolves with the
 * new credentials; rejects with 'provision-not-found' (unknown key or secret), 'provision-failed'
 * (refused, e.g. the device exists already with the create-new strategy) or 'timeout'.
 */
export function provision(options: ProvisionOptions): Promise<DeviceCredentials> {
  const { request, timeoutMs = 30_000, ...endpoint } = options;
  const problem = checkRequest(request);
  if (problem) return Promise.reject(new TbError('bad-config', 'provisioning request: ' + problem));
  // The work starts after the Promise executor returned, not inside it (the executor's frame would
  // sit under the session's construction on a device's small XS stack, see MqttSession).
  let resolve!: (credentials: DeviceCredentials) => void;
  let reject!: (error: TbError) => void;
  const promise = new Promise<DeviceCredentials>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  {
    let lastError = '';
    let timer: TimerHandle | undefined;
    const session = new MqttSession({
      ...endpoint,
      clientId: request.deviceName ? 'provision-' + request.deviceName : PROVISION_USERNAME,
      username: PROVISION_USERNAME,
      reconnect: { initialMs: 1000, maxMs: 8000 },
    });
    const finish = (error: TbError | undefined, credentials?: DeviceCredentials) => {
      if (timer === undefined) return;
      endpoint.clock.clearTimeout(timer);
      timer = undefined;
      session.close();
      if (error) reject(error);
      else resolve(credentials as DeviceCredentials);
    };
    timer = endpoint.clock.setTimeout(
      () => finish(new TbError('timeout', 'no provisioning answer within ' + timeoutMs + ' ms' + (lastError ? ' (last error: ' + lastError + ')' : ''))),
      timeoutMs,
    );
    session.events.on('error', (error) => {
      lastError = describeError(error);
    });
    session.events.on('message', (topic, payload) => {
      if (topic !== PROVISION_RESPONSE) return;
      const result = readResponse(payload, request);
      if (result instanceof TbError) finish(result);
      else finish(undefined, result);
    });
    session.events.on('connect', () => {
      // Subscribe first and publish after the SUBACK, so the answer cannot outrun the subscription.
      session.subscribe(PROVISION_RESPONSE, 1, (error) => {
        if (error) {
          finish(new TbError('provision-failed', 'cannot subscribe to ' + PROVISION_RESPONSE + ': ' + error.message, error));
          return;
        }
        session.publish(PROVISION_REQUEST, JSON.stringify(requestBody(request)), { qos: 1 }, (e) => {
          if (e) lastError = describeError(e);
        });
      });
    });
    // From a job of its own, as openDevice does.
    Promise.resolve().then(() => session.start());
  }
  return promise;
}

function requestBody(r: ProvisionRequest): JsonObject {
  const body: JsonObject = { provisionDeviceKey: r.provisionDeviceKey, provisionDeviceSecret: r.provisionDeviceSecret };
  if (r.deviceName !== undefined) body.deviceName = r.deviceName;
  if (r.credentialsType !== undefined) body.credentialsType = r.credentialsType;
  for (const key of ['token', 'clientId', 'username', 'password', 'hash'] as const) {
    const v = r[key];
    if (v !== undefined) body[key] = v;
  }
  return body;
}

function readResponse(payload: Uint8Array, request: ProvisionRequest): DeviceCredentials | TbError {
  const body = parseJson(payload);
  if (body instanceof Error || !isObject(body)) return new TbError('bad-response', 'provisioning response is not a JSON object: ' + preview(payload));
  const status = body.status;
  const message = isString(body.errorMsg) ? body.errorMsg : '';
  if (status === 'NOT_FOUND') return new TbError('provision-not-found', 'provisioning refused: ' + (message || 'unknown provision key or secret') + ' (check provisionDeviceKey and provisionDeviceSecret)');
  if (status === 'FAILURE') return new TbError('provision-failed', 'provisioning refused: ' + (message || 'failure') + ' (with the create-new strategy the device name must not exist yet)');
  if (status !== 'SUCCESS') return new TbError('bad-response', 'provisioning response has status ' + JSON.stringify(status));
  const type = body.credentialsType ?? request.credentialsType ?? 'ACCESS_TOKEN';
  const value = body.credentialsValue;
  if (type === 'ACCESS_TOKEN') {
    if (!isNonEmptyString(value)) return new TbError('bad-response', 'ACCESS_TOKEN provisioning response without a token');
    return { type: 'ACCESS_TOKEN', token: value };
  }
  if (type === 'MQTT_BASIC') {
    // The server spells it "userName" here.
    if (!isObject(value) || !isString(value.clientId) || !isString(value.userName) || !isString(value.password)) {
      return new TbError('bad-response', 'MQTT_BASIC provisioning response without {clientId, userName, password}');
    }
    return { type: 'MQTT_BASIC', clientId: value.clientId, username: value.userName, password: value.password };
  }
  if (type === 'X509_CERTIFICATE') return { type: 'X509_CERTIFICATE' };
  return new TbError('bad-response', 'unknown credentialsType ' + JSON.stringify(type));
}

function checkRequest(r: ProvisionRequest): string | undefined {
  if (!r || typeof r !== 'object') return 'missing';
  if (!isNonEmptyString(r.provisionDeviceKey)) return 'provisionDeviceKey is required';
  if (!isNonEmptyString(r.provisionDeviceSecret)) return 'provisionDeviceSecret is required';
  const type = r.credentialsType ?? 'ACCESS_TOKEN';
  if (type !== 'ACCESS_TOKEN' && type !== 'MQTT_BASIC' && type !== 'X509_CERTIFICATE') return 'credentialsType must be ACCESS_TOKEN, MQTT_BASIC or X509_CERTIFICATE';
  if (type === 'X509_CERTIFICATE' && !r.hash) return 'X509_CERTIFICATE needs the certificate hash';
  return undefined;
}
