/**
 * What the device's codec makes of a fixed set of packets: the four it encodes, as hex, and
 * decodeFrame's result for each of `frames` (one parser, as a connection reads them). Run on XS by
 * the esp32-preload bundle (mqtt-packet cut down as in the ESP32 bundles) and on Node by
 * test/xs/xs-preload.test.ts, which compares the two.
 */
import { decodeFrame } from '../../src/mqtt/decode';
import { mqttPacketCodec } from '../../src/mqtt/mqtt-packet-codec';

export interface CodecSample {
  encoded: string[];
  decoded: (string | (string | number | number[])[])[];
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  return out;
}

export function codecSample(frames: number[][]): CodecSample {
  const c = mqttPacketCodec;
  const encoded = [
    c.encodeConnect({ clientId: 'c1', username: 'TOKEN', keepaliveSeconds: 60, cleanSession: true }),
    c.encodeSubscribe(7, 'v1/devices/me/rpc/request/+', 1),
    c.encodeUnsubscribe(8, 'v1/devices/me/attributes'),
    c.encodeDisconnect(),
  ].map(hex);
  const parser = c.createParser();
  const decoded = frames.map((bytes) => {
    const r = decodeFrame(Uint8Array.from(bytes), parser) as { code?: string; type?: string; topic?: string; payload?: Uint8Array; id?: number; granted?: number[] };
    return r instanceof Error ? 'error:' + r.code : [r.type as string, r.topic ?? '', r.payload ? hex(r.payload) : '', r.id ?? 0, r.granted ?? []];
  });
  return { encoded, decoded };
}
