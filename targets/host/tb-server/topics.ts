/** ThingsBoard MQTT topic names, accepted subscribe filters and topic matching. */

export const T = {
  telemetry: 'v1/devices/me/telemetry',
  attributes: 'v1/devices/me/attributes',
  attrRequestPrefix: 'v1/devices/me/attributes/request/',
  attrResponsePrefix: 'v1/devices/me/attributes/response/',
  rpcRequestPrefix: 'v1/devices/me/rpc/request/',
  rpcResponsePrefix: 'v1/devices/me/rpc/response/',
  claim: 'v1/devices/me/claim',
  provisionRequest: '/provision/request',
  provisionResponse: '/provision/response',
  gwConnect: 'v1/gateway/connect',
  gwDisconnect: 'v1/gateway/disconnect',
  gwTelemetry: 'v1/gateway/telemetry',
  gwAttributes: 'v1/gateway/attributes',
  gwAttrRequest: 'v1/gateway/attributes/request',
  gwAttrResponse: 'v1/gateway/attributes/response',
  gwRpc: 'v1/gateway/rpc',
  gwClaim: 'v1/gateway/claim',
  fwRequestPrefix: 'v2/fw/request/',
  fwResponsePrefix: 'v2/fw/response/',
  fwError: 'v2/fw/error',
} as const;

/** Topics a gateway session publishes to its gateway API; all others are device topics. */
export const GATEWAY_TOPIC_PREFIX = 'v1/gateway/';

export const DEVICE_FILTERS: readonly string[] = [
  T.attributes,
  T.attrResponsePrefix + '+',
  T.rpcRequestPrefix + '+',
  T.rpcResponsePrefix + '+',
  T.fwResponsePrefix + '+/chunk/+',
  T.fwError,
];

export const GATEWAY_FILTERS: readonly string[] = [...DEVICE_FILTERS, T.gwAttributes, T.gwRpc, T.gwAttrResponse];

export const PROVISION_FILTERS: readonly string[] = [T.provisionResponse];

/** MQTT topic filter match (`+` one level, `#` the rest). */
export function matchFilter(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** The id after a prefix, or undefined when the topic does not start with it. */
export function suffixAfter(topic: string, prefix: string): string | undefined {
  return topic.startsWith(prefix) ? topic.slice(prefix.length) : undefined;
}
