/**
 * The chip model's physics: the BME280 datasheet's double-precision compensation (appendix 8.1)
 * run forwards, and a search that inverts it, so the model can turn a physical temperature,
 * pressure and humidity into the raw ADC values a real chip with the same trim would report.
 * Independent of hal/drivers (which uses the integer formulas), so the two cross-check each other.
 */

export interface Bme280Calibration {
  T1: number; T2: number; T3: number;
  P1: number; P2: number; P3: number; P4: number; P5: number; P6: number; P7: number; P8: number; P9: number;
  H1: number; H2: number; H3: number; H4: number; H5: number; H6: number;
}

/**
 * T1..T3 and P1..P9: the datasheet's worked example (section 8.1 / table 16 of BST-BME280-DS002).
 * H1..H6: the datasheet gives no example; these are typical values read from a real sensor.
 */
export const DATASHEET_CALIBRATION: Readonly<Bme280Calibration> = Object.freeze({
  T1: 27504, T2: 26435, T3: -1000,
  P1: 36477, P2: -10685, P3: 3024, P4: 2855, P5: 140, P6: -7, P7: 15500, P8: -14600, P9: 6000,
  H1: 75, H2: 362, H3: 0, H4: 313, H5: 50, H6: 30,
});

/** Temperature in °C and t_fine (truncated to an integer, as the datasheet's code does). */
export function forwardTemperature(adcT: number, c: Bme280Calibration): { celsius: number; tFine: number } {
  const var1 = (adcT / 16384 - c.T1 / 1024) * c.T2;
  const d = adcT / 131072 - c.T1 / 8192;
  const var2 = d * d * c.T3;
  return { celsius: (var1 + var2) / 5120, tFine: Math.trunc(var1 + var2) };
}

/** Pressure in Pa. */
export function forwardPressure(adcP: number, tFine: number, c: Bme280Calibration): number {
  let var1 = tFine / 2 - 64000;
  let var2 = (var1 * var1 * c.P6) / 32768;
  var2 = var2 + var1 * c.P5 * 2;
  var2 = var2 / 4 + c.P4 * 65536;
  var1 = ((c.P3 * var1 * var1) / 524288 + c.P2 * var1) / 524288;
  var1 = (1 + var1 / 32768) * c.P1;
  if (var1 === 0) return 0;
  let p = 1048576 - adcP;
  p = ((p - var2 / 4096) * 6250) / var1;
  var1 = (c.P9 * p * p) / 2147483648;
  var2 = (p * c.P8) / 32768;
  return p + (var1 + var2 + c.P7) / 16;
}

/** Relative humidity in %, clamped to 0..100 as in the datasheet. */
export function forwardHumidity(adcH: number, tFine: number, c: Bme280Calibration): number {
  let h = tFine - 76800;
  h = (adcH - (c.H4 * 64 + (c.H5 / 16384) * h)) * ((c.H2 / 65536) * (1 + (c.H6 / 67108864) * h * (1 + (c.H3 / 67108864) * h)));
  h = h * (1 - (c.H1 * h) / 524288);
  return h > 100 ? 100 : h < 0 ? 0 : h;
}

/** Which reading invert() searches for. */
export const TEMPERATURE = 0;
export const PRESSURE = 1;
export const HUMIDITY = 2;

/**
 * The raw ADC value whose compensated reading is closest to `target` (°C, hPa or %RH; pressure
 * and humidity need the temperature's tFine). Binary search over the 20-bit (humidity: 16-bit)
 * range: temperature and humidity rise with the raw value, pressure falls. The forward formulas
 * are called inline, not through a callback: the search runs inside a simulated I2C write, deep
 * in the firmware's stack (XS on a device-sized stack).
 */
export function invert(kind: 0 | 1 | 2, target: number, tFine: number, c: Bme280Calibration): number {
  let lo = 0;
  let hi = kind === HUMIDITY ? 0xffff : 0xfffff;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const v = kind === TEMPERATURE ? forwardTemperature(mid, c).celsius : kind === PRESSURE ? forwardPressure(mid, tFine, c) / 100 : forwardHumidity(mid, tFine, c);
    if (kind === PRESSURE ? v > target : v < target) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return 0;
  // lo is the first raw at or past the target: the one before may be closer.
  const before = lo - 1;
  const a = kind === TEMPERATURE ? forwardTemperature(before, c).celsius : kind === PRESSURE ? forwardPressure(before, tFine, c) / 100 : forwardHumidity(before, tFine, c);
  const b = kind === TEMPERATURE ? forwardTemperature(lo, c).celsius : kind === PRESSURE ? forwardPressure(lo, tFine, c) / 100 : forwardHumidity(lo, tFine, c);
  return Math.abs(a - target) <= Math.abs(b - target) ? before : lo;
}
