/**
 * The ESP32 bundle's size budget: the minified bundle under 128 KiB. Flash is not what an ESP32
 * lacks (preloaded code and data live in its 4 MB flash, and the app partition holds well over
 * 1 MB); the budget leaves room for OTA, session limits and store-and-forward while still
 * catching an accidental dependency. RAM is guarded by the stack and heap figures of bench:xs and
 * test/xs. Built fresh from the sources, so any growth past it fails here, not only in bench:xs.
 */
import { describe, expect, it } from 'vitest';
import { buildEsp32Bundle } from '../support/esp32-bundle';

const BUDGET = 131_072;

describe('ESP32 bundle size', () => {
  it('the minified bundle (dist/esp32/tbxs.min.js) stays under 131,072 bytes', async () => {
    const bundle = await buildEsp32Bundle();
    const bytes = Buffer.byteLength(bundle.minified);
    const largest = Object.entries(bundle.modules)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([path, n]) => path + ' ' + n)
      .join(', ');
    expect(bytes, 'tbxs.min.js is ' + bytes + ' bytes; largest modules (readable bytes): ' + largest).toBeLessThan(BUDGET);
    // What the budget is about is really there: the firmware, the MQTT session and a driver.
    expect(bundle.minified).toContain('v1/devices/me/');
    expect(Object.keys(bundle.modules).some((p) => p.endsWith('src/mqtt/session.ts'))).toBe(true);
    expect(Object.keys(bundle.modules).some((p) => p.endsWith('hal/drivers/bme280.ts'))).toBe(true);
    // The device's MQTT codec is mqtt-packet's (its parser and generator), not a hand-written one.
    for (const file of ['mqtt-packet/parser.js', 'mqtt-packet/writeToStream.js', 'src/mqtt/mqtt-packet-codec.ts']) {
      expect(Object.keys(bundle.modules).some((p) => p.endsWith(file)), file + ' in the ESP32 bundle').toBe(true);
    }
    expect(bytes).toBeGreaterThan(30_000);
    // Its parser keeps what the device parses with it (PUBLISH, SUBACK); the parsers for what a
    // server receives and for the acknowledgements decode.ts reads are errors by name.
    expect(bundle.code).toMatch(/_parsePublish \(\) \{\n\s+const packet = this\.packet/);
    expect(bundle.code).toMatch(/_parseSuback \(\) \{\n\s+const packet = this\.packet/);
    for (const what of ['connect', 'connack', 'subscribe', 'unsubscribe', 'unsuback', 'confirmation', 'disconnect', 'auth']) {
      expect(bundle.code).toContain("mqtt-packet parses only publish and suback on the device, not " + what + "'");
    }
  }, 60_000);
});
