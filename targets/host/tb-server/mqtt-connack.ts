/**
 * CONNACK of the server at each protocol level: what a refused CONNECT answers (ThingsBoard's
 * MqttTransportHandler.onValidateDeviceResponse and ReturnCodeResolver), and the MQTT 5
 * properties of an accepted one.
 */
import type { IConnackPacket } from 'mqtt-packet';
import { RC, RETURN_CODE } from './mqtt-reason-codes';

export interface Refusal {
  /** CONNACK return code at MQTT 3.1 and 3.1.1. */
  returnCode: number;
  /** CONNACK reason code at MQTT 5. */
  reasonCode: number;
  /** For the log and the MQTT 5 Reason String: what a person should fix. */
  reason: string;
}

/**
 * Credentials that matched no device. ThingsBoard answers Bad User Name or Password (3.1.1: 5)
 * when a username and a password came, or exactly one of them; Client Identifier not valid
 * (3.1.1: 2) when neither came but a client id did; Not authorized (5) otherwise.
 */
export function refusalFor(clientId: string, username: string | undefined, password: string | undefined): Refusal {
  if (username !== undefined && password !== undefined) {
    return { returnCode: RETURN_CODE.notAuthorized, reasonCode: RC.badUsernameOrPassword, reason: `bad credentials: no device has MQTT basic credentials client id "${clientId}", username "${username}" and this password` };
  }
  if (username !== undefined) {
    return { returnCode: RETURN_CODE.notAuthorized, reasonCode: RC.badUsernameOrPassword, reason: `bad credentials: no device has access token "${username}" (nor MQTT basic client id "${clientId}" with that username)` };
  }
  if (password !== undefined) {
    return { returnCode: RETURN_CODE.notAuthorized, reasonCode: RC.badUsernameOrPassword, reason: 'bad credentials: a password without a username' };
  }
  if (clientId.trim() !== '') {
    return { returnCode: RETURN_CODE.identifierRejected, reasonCode: RC.clientIdentifierNotValid, reason: `no credentials: no username or password, and client id "${clientId}" is no device's MQTT basic client id` };
  }
  return { returnCode: RETURN_CODE.notAuthorized, reasonCode: RC.notAuthorized, reason: 'no credentials: no username, password or client id' };
}

/**
 * The CONNACK of an accepted CONNECT. At MQTT 5 it tells the client the server's limits: the packet
 * size it closes the connection over, the QoS 1 messages it takes in flight, the topic aliases it
 * keeps, QoS 1 at most, no shared subscriptions or subscription identifiers, and a session expiry
 * of 0 when the client asked for more (ThingsBoard keeps no session), plus the client id it
 * assigned to an empty one.
 */
export function connackFor(
  level: number,
  sessionPresent: boolean,
  limits: { maxPayloadBytes: number; maxInflightMessages: number },
  topicAliasMaximum: number,
  clientSessionExpiry: number | undefined,
  assignedClientId: string | undefined,
): IConnackPacket {
  if (level !== 5) return { cmd: 'connack', sessionPresent, returnCode: 0 };
  return {
    cmd: 'connack',
    sessionPresent,
    reasonCode: RC.success,
    properties: {
      maximumPacketSize: limits.maxPayloadBytes,
      receiveMaximum: Math.max(1, Math.min(65_535, limits.maxInflightMessages)),
      topicAliasMaximum,
      maximumQoS: 1,
      sharedSubscriptionAvailable: false,
      subscriptionIdentifiersAvailable: false,
      ...(clientSessionExpiry ? { sessionExpiryInterval: 0 } : {}),
      ...(assignedClientId !== undefined ? { assignedClientIdentifier: assignedClientId } : {}),
    },
  };
}
