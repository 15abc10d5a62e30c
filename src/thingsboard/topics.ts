/**
 * Every ThingsBoard MQTT topic in one place (shared/thingsboard-protocol.md, "Topics").
 * v1 only: the server answers in the style of the request and v1/v2 must not be mixed.
 */
export const DEVICE_TELEMETRY = 'v1/devices/me/telemetry';
export const DEVICE_ATTRIBUTES = 'v1/devices/me/attributes';
export const DEVICE_ATTRIBUTES_REQUEST = 'v1/devices/me/attributes/request/';
export const DEVICE_ATTRIBUTES_RESPONSE = 'v1/devices/me/attributes/response/';
export const DEVICE_ATTRIBUTES_RESPONSE_FILTER = 'v1/devices/me/attributes/response/+';
export const DEVICE_RPC_REQUEST = 'v1/devices/me/rpc/request/';
export const DEVICE_RPC_REQUEST_FILTER = 'v1/devices/me/rpc/request/+';
export const DEVICE_RPC_RESPONSE = 'v1/devices/me/rpc/response/';
export const DEVICE_RPC_RESPONSE_FILTER = 'v1/devices/me/rpc/response/+';
export const DEVICE_CLAIM = 'v1/devices/me/claim';

export const PROVISION_REQUEST = '/provision/request';
export const PROVISION_RESPONSE = '/provision/response';
/** Username (or client id) that opens a provisioning-only session. */
export const PROVISION_USERNAME = 'provision';

export const GATEWAY_CONNECT = 'v1/gateway/connect';
export const GATEWAY_DISCONNECT = 'v1/gateway/disconnect';
export const GATEWAY_TELEMETRY = 'v1/gateway/telemetry';
export const GATEWAY_ATTRIBUTES = 'v1/gateway/attributes';
export const GATEWAY_ATTRIBUTES_REQUEST = 'v1/gateway/attributes/request';
export const GATEWAY_ATTRIBUTES_RESPONSE = 'v1/gateway/attributes/response';
export const GATEWAY_RPC = 'v1/gateway/rpc';
export const GATEWAY_CLAIM = 'v1/gateway/claim';

/** The id at the end of `topic` after `prefix`, or undefined when `topic` is not under it. */
export function topicSuffix(topic: string, prefix: string): string | undefined {
  if (topic.length <= prefix.length || topic.slice(0, prefix.length) !== prefix) return undefined;
  const rest = topic.slice(prefix.length);
  return rest.indexOf('/') >= 0 ? undefined : rest;
}
