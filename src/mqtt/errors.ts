import { TbxsError } from '../platform/errors';

export type MqttErrorCode =
  | 'connack-refused' // the server answered CONNACK with a non-zero code
  | 'connack-timeout' // no CONNACK in time
  | 'connect-timeout' // the TCP/TLS connection did not open in time
  | 'socket' // the connection failed or dropped
  | 'keepalive-timeout' // nothing received within 1.5 x keepalive
  | 'ack-timeout' // a QoS 1 publish got no PUBACK in time on a live connection
  | 'packet-too-large' // an inbound or outbound packet over the configured cap
  | 'malformed' // bytes that are not a valid MQTT 3.1.1 packet
  | 'protocol' // a valid packet the server must not send at that point
  | 'queue-full' // the offline queue is at its byte or message cap
  | 'qos-unsupported' // QoS 2: ThingsBoard does not support it
  | 'subscribe-refused' // SUBACK 0x80
  | 'invalid-argument' // bad topic, payload or option from the caller
  | 'handler' // a message listener threw or its promise rejected: no PUBACK was sent
  | 'expired' // a publish waited past its expiresAt and was not sent
  | 'over-limit' // a publish the pacer says can never fit the server's rate limits
  | 'closed'; // the session was closed before the operation completed

export class MqttError extends TbxsError<MqttErrorCode> {
  /** CONNACK return code, for 'connack-refused'. */
  readonly returnCode?: number;

  constructor(code: MqttErrorCode, message: string, returnCode?: number, cause?: unknown) {
    super(code, message, 'MqttError', { cause });
    if (returnCode !== undefined) this.returnCode = returnCode;
  }
}

/** Bytes that break the spec (MqttError 'malformed'). */
export function malformed(message: string): MqttError {
  return new MqttError('malformed', message);
}

/** Bad topic, payload or option from the caller (MqttError 'invalid-argument'). */
export function invalidArgument(message: string): MqttError {
  return new MqttError('invalid-argument', message);
}

/** What a person should do about a refused CONNACK (MQTT 3.1.1 table 3.1). */
const CONNACK_REASONS: readonly string[] = Object.freeze([
  'accepted',
  'unacceptable protocol version: the server lacks MQTT 3.1.1',
  'identifier rejected: client id refused (ThingsBoard: no username or password given)',
  'server unavailable (overloaded or rate-limiting); retrying with backoff',
  'bad user name or password: check the credentials',
  'not authorized: unknown token or credentials; check the device token',
]);

export function connackRefusal(returnCode: number): MqttError {
  const reason = CONNACK_REASONS[returnCode] ?? 'unknown return code';
  return new MqttError('connack-refused', 'CONNACK ' + returnCode + ': ' + reason, returnCode);
}

/** CONNACK codes that retrying soon cannot fix: back off for minutes. */
export function isCredentialRefusal(returnCode: number): boolean {
  return returnCode === 1 || returnCode === 2 || returnCode === 4 || returnCode === 5;
}
