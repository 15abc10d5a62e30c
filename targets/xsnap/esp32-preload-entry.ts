/**
 * The ESP32 firmware's modules (targets/esp32/main.ts and main-simulator.ts: src, hal with
 * hal/moddable, targets/esp32) loaded on XS as the Moddable linker loads a preloaded `main`, with
 * every Moddable module a stub (preload/moddable-stub.ts), to check what the linker checks: which
 * objects our modules leave writable (xsl: "not frozen", each one RAM at run time on the device).
 * Loaded only, never started. `globalThis.tbxsPreload.aliases()`: those objects and the slots
 * their aliases would take (`aliasSlots`), as UTF-8 JSON.
 */
import main from '../esp32/main';
import simulatorMain from '../esp32/main-simulator';
import { utf8Encode } from '../../src/platform/utf8';
import { decodeFrame } from '../../src/mqtt/decode';
import { mqttPacketCodec } from '../../src/mqtt/mqtt-packet-codec';
import { preloadAliasEntries } from './preload/freeze';

function hex(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  return out;
}

function reply(value: unknown): ArrayBuffer {
  const bytes = utf8Encode(JSON.stringify(value));
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Only the modules that go into the ESP32 and simulator bundles (not this test entry). */
const SHIPPED = /^(src|hal|targets\/esp32)\//;

const api = {
  aliases(): ArrayBuffer {
    const entries = preloadAliasEntries(SHIPPED);
    let aliasSlots = 0;
    for (let i = 0; i < entries.length; i++) aliasSlots += entries[i].slots;
    const aliases = entries.map((entry) => entry.where);
    return reply({ entries: [typeof main, typeof simulatorMain], aliases, aliasSlots });
  },
  /**
   * The device's codec as the ESP32 bundle has it (mqtt-packet cut down to what the device uses):
   * the packets it encodes, as hex, and what decodeFrame makes of each of `frames` (JSON arrays of
   * bytes, from one parser, as a connection reads them).
   */
  codec(frames: string): ArrayBuffer {
    const c = mqttPacketCodec;
    const encoded = [
      c.encodeConnect({ clientId: 'c1', username: 'TOKEN', keepaliveSeconds: 60, cleanSession: true }),
      c.encodeSubscribe(7, 'v1/devices/me/rpc/request/+', 1),
      c.encodeUnsubscribe(8, 'v1/devices/me/attributes'),
      c.encodeDisconnect(),
    ].map(hex);
    const parser = c.createParser();
    const decoded = (JSON.parse(frames) as number[][]).map((bytes) => {
      const r = decodeFrame(Uint8Array.from(bytes), parser) as { code?: string; type?: string; topic?: string; payload?: Uint8Array; id?: number; granted?: number[] };
      return r instanceof Error ? 'error:' + r.code : [r.type, r.topic ?? '', r.payload ? hex(r.payload) : '', r.id ?? 0, r.granted ?? []];
    });
    return reply({ encoded, decoded });
  },
};

(globalThis as unknown as { tbxsPreload: typeof api }).tbxsPreload = api;
