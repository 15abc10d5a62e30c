/** MQTT 5 reason codes the server sends (MQTT 5 section 2.4), and the 3.1.1 CONNACK return codes. */
export const RC = Object.freeze({
  success: 0x00,
  noSubscriptionExisted: 0x11,
  unspecified: 0x80,
  malformed: 0x81,
  protocolError: 0x82,
  implementationSpecific: 0x83,
  unsupportedProtocolVersion: 0x84,
  clientIdentifierNotValid: 0x85,
  badUsernameOrPassword: 0x86,
  notAuthorized: 0x87,
  sessionTakenOver: 0x8e,
  topicFilterInvalid: 0x8f,
  topicNameInvalid: 0x90,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  payloadFormatInvalid: 0x99,
});

/** MQTT 3.1.1 CONNACK return codes (MQTT 3.1.1 table 3.1). */
export const RETURN_CODE = Object.freeze({
  unacceptableProtocolVersion: 1,
  identifierRejected: 2,
  notAuthorized: 5,
});
