/**
 * Every ThingsBoard MQTT topic in one place (shared/thingsboard-protocol.md, "Topics").
 * v1 only: the server answers in the style of the request and v1/v2 must not be mixed.
 */
const ME = 'v1/devices/me/';
export const DEVICE_TELEMETRY = ME + 'telemetry';
export const DEVICE_ATTRIBUTES = ME + 'attributes';
export const DEVICE_ATTRIBUTES_REQUEST = DEVICE_ATTRIBUTES + '/request/';
export const DEVICE_ATTRIBUTES_RESPONSE = DEVICE_ATTRIBUTES + '/response/';
export const DEVICE_ATTRIBUTES_RESPONSE_FILTER = DEVICE_ATTRIBUTES_RESPONSE + '+';
export const DEVICE_RPC_REQUEST = ME + 'rpc/request/';
export const DEVICE_RPC_REQUEST_FILTER = DEVICE_RPC_REQUEST + '+';
export const DEVICE_RPC_RESPONSE = ME + 'rpc/response/';
export const DEVICE_RPC_RESPONSE_FILTER = DEVICE_RPC_RESPONSE + '+';
export const DEVICE_CLAIM = ME + 'claim';

// Firmware OTA: ThingsBoard's v2 topics, used by every device SDK alongside the v1 API.
export const FIRMWARE_REQUEST = 'v2/fw/request/';
export const FIRMWARE_RESPONSE = 'v2/fw/response/';
export const FIRMWARE_RESPONSE_FILTER = FIRMWARE_RESPONSE + '+/chunk/+';
export const FIRMWARE_ERROR = 'v2/fw/error';
/** `v2/fw/request/{requestId}/chunk/{chunk}`. */
export const CHUNK = '/chunk/';

export const PROVISION_REQUEST = '/provision/request';
export const PROVISION_RESPONSE = '/provision/response';
/** Username (or client id) that opens a provisioning-only session. */
export const PROVISION_USERNAME = 'provision';

const GATEWAY = 'v1/gateway/';
export const GATEWAY_CONNECT = GATEWAY + 'connect';
export const GATEWAY_DISCONNECT = GATEWAY + 'disconnect';
export const GATEWAY_TELEMETRY = GATEWAY + 'telemetry';
export const GATEWAY_ATTRIBUTES = GATEWAY + 'attributes';
export const GATEWAY_ATTRIBUTES_REQUEST = GATEWAY_ATTRIBUTES + '/request';
export const GATEWAY_ATTRIBUTES_RESPONSE = GATEWAY_ATTRIBUTES + '/response';
export const GATEWAY_RPC = GATEWAY + 'rpc';
export const GATEWAY_CLAIM = GATEWAY + 'claim';

/** The id at the end of `topic` after `prefix`, or undefined when `topic` is not under it. */
export function topicSuffix(topic: string, prefix: string): string | undefined {
  if (topic.length <= prefix.length || topic.slice(0, prefix.length) !== prefix) return undefined;
  const rest = topic.slice(prefix.length);
  return rest.indexOf('/') >= 0 ? undefined : rest;
}
