/**
 * The ESP32 firmware's modules (targets/esp32/main.ts and main-simulator.ts: src, hal with
 * hal/moddable, targets/esp32) loaded on XS as the Moddable linker loads a preloaded `main`, with
 * every Moddable module a stub (preload/moddable-stub.ts), to check what the linker checks: which
 * objects our modules leave writable (xsl: "not frozen", each one RAM at run time on the device).
 * Loaded only, never started. `globalThis.tbxsPreload.aliases()`: those objects, as UTF-8 JSON.
 */
import main from '../esp32/main';
import simulatorMain from '../esp32/main-simulator';
import { utf8Encode } from '../../src/platform/utf8';
import { preloadAliases } from './preload/freeze';

/** Only the modules that go into the ESP32 and simulator bundles (not this test entry). */
const SHIPPED = /^(src|hal|targets\/esp32)\//;

const api = {
  aliases(): ArrayBuffer {
    const bytes = utf8Encode(JSON.stringify({ entries: [typeof main, typeof simulatorMain], aliases: preloadAliases(SHIPPED) }));
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  },
};

(globalThis as unknown as { tbxsPreload: typeof api }).tbxsPreload = api;
