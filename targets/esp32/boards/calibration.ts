/**
 * Moddable's ECMA-419 Analog on the ESP32 (modules/io/analog/esp32/_analog.c) ignores a requested
 * resolution: it reads ADC1 at 11 dB attenuation, converts to calibrated millivolts and returns
 * them scaled so that 3.3 V is 2^10 - 1 (10 bits; the S2/S3 use 13, the C3 12). The input saturates
 * near 3.1 V, so keep the divided voltage below that.
 */
export const ESP32_ADC_BITS = 10;

/**
 * Battery voltage through a resistor divider into an ESP32 ADC1 pin:
 *   V_battery = raw * scale + offset, scale = (r1 + r2) / r2 * fullScaleVolts / (2^bits - 1).
 * r1 from the battery to the pin, r2 from the pin to ground. The readings are already calibrated
 * per chip; for the last few percent (divider tolerance), measure the battery with a meter and
 * multiply scale by (meter / reported), or pass batteryScale= / batteryOffset= to mcconfig.
 */
export function dividerScale(r1: number, r2: number, fullScaleVolts = 3.3, bits = ESP32_ADC_BITS): number {
  return ((r1 + r2) / r2) * (fullScaleVolts / (2 ** bits - 1));
}

/** Pins an ESP32 (WROOM/WROVER module) must not be given: 6-11 are the SPI flash. */
export const ESP32_FLASH_PINS: readonly number[] = Object.freeze([6, 7, 8, 9, 10, 11]);
/** Input-only pins (no output driver, no pull-ups). */
export const ESP32_INPUT_ONLY_PINS: readonly number[] = Object.freeze([34, 35, 36, 37, 38, 39]);
/** ADC1 pins: the only ADC usable while Wi-Fi runs (ADC2 belongs to the radio). */
export const ESP32_ADC1_PINS: readonly number[] = Object.freeze([32, 33, 34, 35, 36, 37, 38, 39]);
