/**
 * BME280 compensation from the datasheet (BST-BME280-DS002, section 4.2.3): the 32-bit integer
 * formulas for temperature and humidity, and the double-precision formula (appendix 8.1) for
 * pressure, because the 64-bit integer one needs more than the 53 bits a JS number holds exactly.
 * Math.imul and >> reproduce C's 32-bit arithmetic; with real trim values nothing overflows.
 */

export interface Bme280Trim {
  T1: number; T2: number; T3: number;
  P1: number; P2: number; P3: number; P4: number; P5: number; P6: number; P7: number; P8: number; P9: number;
  H1: number; H2: number; H3: number; H4: number; H5: number; H6: number;
}

/**
 * Decodes the trim registers: `a` = 26 bytes read from 0x88 (0x88..0xA1), `b` = 7 bytes from 0xE1
 * (0xE1..0xE7), layout from datasheet table 16.
 */
export function parseTrim(a: Uint8Array, b: Uint8Array): Bme280Trim {
  const u16 = (i: number) => a[i] | (a[i + 1] << 8);
  const s16 = (i: number) => (u16(i) << 16) >> 16;
  const s8 = (v: number) => (v << 24) >> 24;
  return {
    T1: u16(0), T2: s16(2), T3: s16(4),
    P1: u16(6), P2: s16(8), P3: s16(10), P4: s16(12), P5: s16(14), P6: s16(16), P7: s16(18), P8: s16(20), P9: s16(22),
    H1: a[25],
    H2: s16From(b[0], b[1]),
    H3: b[2],
    // 12-bit signed values sharing 0xE5: H4 = E4[7:0] E5[3:0], H5 = E6[7:0] E5[7:4].
    H4: (s8(b[3]) << 4) | (b[4] & 0x0f),
    H5: (s8(b[5]) << 4) | (b[4] >> 4),
    H6: s8(b[6]),
  };
}

function s16From(lsb: number, msb: number): number {
  return ((lsb | (msb << 8)) << 16) >> 16;
}

/** Temperature in 0.01 °C (5123 = 51.23 °C) and t_fine, which P and H need. */
export function compensateTemperature(adcT: number, t: Bme280Trim): { centi: number; tFine: number } {
  const var1 = Math.imul((adcT >> 3) - (t.T1 << 1), t.T2) >> 11;
  const d = (adcT >> 4) - t.T1;
  const var2 = Math.imul(Math.imul(d, d) >> 12, t.T3) >> 14;
  const tFine = (var1 + var2) | 0;
  return { centi: (Math.imul(tFine, 5) + 128) >> 8, tFine };
}

/** Pressure in Pa (double formula). Returns 0 when the trim would divide by zero. */
export function compensatePressure(adcP: number, tFine: number, t: Bme280Trim): number {
  let var1 = tFine / 2 - 64000;
  let var2 = (var1 * var1 * t.P6) / 32768;
  var2 = var2 + var1 * t.P5 * 2;
  var2 = var2 / 4 + t.P4 * 65536;
  var1 = ((t.P3 * var1 * var1) / 524288 + t.P2 * var1) / 524288;
  var1 = (1 + var1 / 32768) * t.P1;
  if (var1 === 0) return 0;
  let p = 1048576 - adcP;
  p = ((p - var2 / 4096) * 6250) / var1;
  var1 = (t.P9 * p * p) / 2147483648;
  var2 = (p * t.P8) / 32768;
  return p + (var1 + var2 + t.P7) / 16;
}

/** Humidity in %RH as Q22.10 (47445 = 47445/1024 = 46.333 %RH). */
export function compensateHumidity(adcH: number, tFine: number, t: Bme280Trim): number {
  let v = (tFine - 76800) | 0;
  const a = ((adcH << 14) - (t.H4 << 20) - Math.imul(t.H5, v) + 16384) >> 15;
  const inner = ((Math.imul(Math.imul(v, t.H6) >> 10, (Math.imul(v, t.H3) >> 11) + 32768) >> 10) + 2097152) | 0;
  const b = (Math.imul(inner, t.H2) + 8192) >> 14;
  v = Math.imul(a, b);
  const sq = Math.imul(v >> 15, v >> 15) >> 7;
  v = (v - (Math.imul(sq, t.H1) >> 4)) | 0;
  if (v < 0) v = 0;
  if (v > 419430400) v = 419430400;
  return v >> 12;
}
