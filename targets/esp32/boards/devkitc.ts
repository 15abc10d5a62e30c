import { esp32Board } from './layout';

/**
 * Espressif ESP32-DevKitC (V4, WROOM-32). The board has only a power LED: `led` is GPIO2 for an
 * external LED (330 ohm to ground; GPIO2 is a strapping pin, so nothing may pull it high at boot).
 * `button` is the BOOT button (GPIO0 to ground, external pull-up on the board). Relays on
 * GPIO26/27 (common active-low modules), I2C on SDA 21 / SCL 22 with an SHT3x and a BME280, the
 * battery divider into GPIO34 (ADC1, input only). See layout.ts.
 */
export const devkitc = esp32Board('esp32-devkitc', 34);
