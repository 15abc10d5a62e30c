import { esp32Board } from './layout';

/**
 * Ai-Thinker NodeMCU-32S. Blue user LED on GPIO2 (lit when high); BOOT button on GPIO0 to ground.
 * Relays on GPIO26/27 (active-low modules), I2C SDA 21 / SCL 22 with an SHT3x and a BME280, the
 * battery divider into GPIO35 (ADC1, input only). See layout.ts.
 */
export const nodemcu32s = esp32Board('nodemcu-32s', 35);
