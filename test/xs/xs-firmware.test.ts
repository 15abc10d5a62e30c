/**
 * The whole firmware (src/app Firmware on the simulated board) on the real XS engine, against the
 * local ThingsBoard server over real TCP on 127.0.0.1: connect, telemetry, toggle_gpio round trip,
 * a shared attribute change applied and stored, a server restart with no QoS 1 telemetry lost
 * (firmware-scenario.ts).
 */
import { describe } from 'vitest';
import { firmwareScenario } from './firmware-scenario';

// Twice: the readable bundle, and the one minified like dist/esp32/tbxs.min.js (private members
// renamed by terser's property mangling), so that the size budget's bundle is the tested one.
describe.each([
  { bundle: 'readable', minify: false },
  { bundle: 'minified', minify: true },
])('the firmware on XS (xsnap, $bundle bundle) against the local server', ({ minify }) => {
  firmwareScenario({ minify });
});
