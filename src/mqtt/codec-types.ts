export interface Will {
  topic: string;
  /** Text; mqtt-packet's generate() cannot take a bare Uint8Array payload. */
  payload: string;
  qos: 0 | 1;
  retain: boolean;
}

export interface ConnectFields {
  clientId: string;
  username?: string;
  password?: string;
  keepaliveSeconds: number;
  cleanSession: boolean;
  will?: Will;
}

export interface ParsedPublish {
  topic: string;
  payload: Uint8Array;
  messageId: number;
}

export interface ParsedSuback {
  messageId: number;
  granted: number[];
}

/**
 * Reads the variable-length packets a server sends, one whole frame at a time, after Framer cut
 * it and decode.ts checked every field. One per connection: a fresh one after a protocol error.
 */
export interface PacketParser {
  parsePublish(frame: Uint8Array, bodyStart: number): ParsedPublish | Error;
  parseSuback(frame: Uint8Array, bodyStart: number): ParsedSuback | Error;
}

/**
 * Encodes the packets the session sends rarely and parses the variable-length ones it receives.
 * One implementation, on mqtt-packet (mqtt-packet-codec.ts), on every target, the ESP32
 * included; test/unit/mqtt-codec-contract.test.ts is what any other must pass. PUBLISH, PUBACK
 * and PINGREQ, sent on every cycle, go through publish-encoder.ts instead.
 */
export interface MqttCodec {
  encodeConnect(fields: ConnectFields): Uint8Array;
  encodeSubscribe(id: number, filter: string, qos: 0 | 1): Uint8Array;
  encodeUnsubscribe(id: number, filter: string): Uint8Array;
  encodeDisconnect(): Uint8Array;
  createParser(): PacketParser;
}
