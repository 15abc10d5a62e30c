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
import { codecSample } from './codec-sample';
import { preloadAliasEntries } from './preload/freeze';

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
    return reply(codecSample(JSON.parse(frames) as number[][]));
  },
};

(globalThis as unknown as { tbxsPreload: typeof api }).tbxsPreload = api;
