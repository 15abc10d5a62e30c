import type { Bme280Calibration } from './bme280-physics';
import { DATASHEET_CALIBRATION, forwardHumidity, forwardPressure, forwardTemperature, invert } from './bme280-physics';
import type { I2cChipModel } from './mock-i2c';
import type { ModelClock } from './sht3x-model';

const REG_CALIB_A = 0x88; // 0x88..0xA1: T1..P9, then H1 at 0xA1
const REG_ID = 0xd0;
const REG_RESET = 0xe0;
const REG_CALIB_B = 0xe1; // 0xE1..0xE7: H2..H6
const REG_CTRL_HUM = 0xf2;
const REG_STATUS = 0xf3;
const REG_CTRL_MEAS = 0xf4;
const REG_CONFIG = 0xf5;
const REG_DATA = 0xf7; // press msb, lsb, xlsb, temp msb, lsb, xlsb, hum msb, lsb
const RESET_WORD = 0xb6;
/** Data registers after reset or for a skipped measurement (datasheet 5.4.7..5.4.9). */
const SKIPPED_20 = 0x80000;
const SKIPPED_16 = 0x8000;

export interface Bme280Raw {
  adcT: number;
  adcP: number;
  adcH: number;
}

/**
 * Register-level model of a Bosch BME280 on I2C. Writes are a register address followed by
 * (value) or (address, value) pairs, reads auto-increment from the last address written, as in
 * datasheet section 6.2. A forced-mode write to ctrl_meas converts the current environment into
 * raw ADC values; with a clock, the data appears only after the datasheet's maximum conversion time
 * and status bit 3 (measuring) is set meanwhile. Normal mode is not modelled.
 */
export class Bme280Model implements I2cChipModel {
  /** Physical values the next measurement reports: °C, hPa, %RH. */
  temperature = 25;
  pressure = 1006.53;
  humidity = 50;
  /** Raw ADC values to report instead of the physical ones (datasheet worked examples). */
  raw: Bme280Raw | undefined;
  /** false: NACK everything, as if unplugged. */
  answering = true;
  readonly calibration: Bme280Calibration;

  private readonly regs = new Uint8Array(256);
  private pointer = 0;
  private pending: Bme280Raw | undefined;
  private readyAt = 0;

  constructor(
    calibration: Bme280Calibration = DATASHEET_CALIBRATION,
    private readonly clock?: ModelClock,
    /** 0x60 for a BME280; 0x58 makes it a BMP280 (no humidity) for wrong-chip tests. */
    readonly chipId = 0x60,
  ) {
    this.calibration = { ...calibration };
    this.writeCalibration();
    this.reset();
  }

  /** Current register contents, for tests. */
  register(address: number): number {
    this.commit();
    return this.regs[address];
  }

  /** Raw ADC values for the current physical values (what the chip would convert to). */
  rawFor(temperature: number, pressure: number, humidity: number): Bme280Raw {
    const c = this.calibration;
    const adcT = invert((r) => forwardTemperature(r, c).celsius, temperature, 0xfffff);
    const tFine = forwardTemperature(adcT, c).tFine;
    const adcP = invert((r) => forwardPressure(r, tFine, c) / 100, pressure, 0xfffff, true);
    const adcH = invert((r) => forwardHumidity(r, tFine, c), humidity, 0xffff);
    return { adcT, adcP, adcH };
  }

  write(bytes: Uint8Array): boolean {
    if (!this.answering || bytes.length === 0) return false;
    this.commit();
    this.pointer = bytes[0];
    if (bytes.length >= 2) this.writeRegister(bytes[0], bytes[1]);
    for (let i = 2; i + 1 < bytes.length; i += 2) this.writeRegister(bytes[i], bytes[i + 1]);
    return true;
  }

  read(length: number): Uint8Array | undefined {
    if (!this.answering) return undefined;
    this.commit();
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      const address = (this.pointer + i) & 0xff;
      out[i] = address === REG_STATUS ? this.status() : this.regs[address];
    }
    this.pointer = (this.pointer + length) & 0xff;
    return out;
  }

  private writeRegister(address: number, value: number): void {
    if (address === REG_RESET) {
      if (value === RESET_WORD) this.reset();
    } else if (address === REG_CTRL_HUM) {
      this.regs[address] = value & 0x07;
    } else if (address === REG_CONFIG) {
      this.regs[address] = value & 0xfd;
    } else if (address === REG_CTRL_MEAS) {
      this.regs[address] = value;
      const mode = value & 0x03;
      if (mode === 1 || mode === 2) this.startForced(value);
    }
    // Calibration, id, status and data registers are read-only: the chip ignores writes.
  }

  private startForced(ctrlMeas: number): void {
    const osT = oversampling((ctrlMeas >> 5) & 7);
    const osP = oversampling((ctrlMeas >> 2) & 7);
    // ctrl_hum takes effect only with this write to ctrl_meas (datasheet 5.4.3).
    const osH = oversampling(this.regs[REG_CTRL_HUM] & 7);
    const raw = this.raw ?? this.rawFor(this.temperature, this.pressure, this.humidity);
    this.pending = {
      adcT: osT ? raw.adcT : SKIPPED_20,
      adcP: osP ? raw.adcP : SKIPPED_20,
      adcH: osH && this.chipId === 0x60 ? raw.adcH : SKIPPED_16,
    };
    // Maximum measurement time, datasheet appendix 9.1.
    const ms = 1.25 + 2.3 * osT + (osP ? 2.3 * osP + 0.575 : 0) + (osH ? 2.3 * osH + 0.575 : 0);
    this.readyAt = this.clock ? this.clock.now() + ms : 0;
  }

  /** Publishes a finished conversion to the data registers and returns to sleep mode. */
  private commit(): void {
    if (!this.pending || (this.clock && this.clock.now() < this.readyAt)) return;
    const { adcT, adcP, adcH } = this.pending;
    this.pending = undefined;
    const r = this.regs;
    r[REG_DATA] = adcP >> 12;
    r[REG_DATA + 1] = (adcP >> 4) & 0xff;
    r[REG_DATA + 2] = (adcP & 0x0f) << 4;
    r[REG_DATA + 3] = adcT >> 12;
    r[REG_DATA + 4] = (adcT >> 4) & 0xff;
    r[REG_DATA + 5] = (adcT & 0x0f) << 4;
    r[REG_DATA + 6] = adcH >> 8;
    r[REG_DATA + 7] = adcH & 0xff;
    r[REG_CTRL_MEAS] &= 0xfc;
  }

  private status(): number {
    return this.pending ? 0x08 : 0x00;
  }

  private reset(): void {
    this.regs[REG_ID] = this.chipId;
    this.regs[REG_CTRL_HUM] = 0;
    this.regs[REG_CTRL_MEAS] = 0;
    this.regs[REG_CONFIG] = 0;
    this.pending = { adcT: SKIPPED_20, adcP: SKIPPED_20, adcH: SKIPPED_16 };
    this.readyAt = 0;
    this.commit();
  }

  private writeCalibration(): void {
    const c = this.calibration;
    const words = [c.T1, c.T2, c.T3, c.P1, c.P2, c.P3, c.P4, c.P5, c.P6, c.P7, c.P8, c.P9];
    words.forEach((word, i) => {
      this.regs[REG_CALIB_A + 2 * i] = word & 0xff; // little-endian
      this.regs[REG_CALIB_A + 2 * i + 1] = (word >> 8) & 0xff;
    });
    this.regs[0xa1] = c.H1 & 0xff;
    const b = REG_CALIB_B;
    this.regs[b] = c.H2 & 0xff;
    this.regs[b + 1] = (c.H2 >> 8) & 0xff;
    this.regs[b + 2] = c.H3 & 0xff;
    // H4 and H5 are 12-bit values sharing 0xE5: H4 = E4[7:0] E5[3:0], H5 = E6[7:0] E5[7:4].
    this.regs[b + 3] = (c.H4 >> 4) & 0xff;
    this.regs[b + 4] = (c.H4 & 0x0f) | ((c.H5 & 0x0f) << 4);
    this.regs[b + 5] = (c.H5 >> 4) & 0xff;
    this.regs[b + 6] = c.H6 & 0xff;
  }
}

/** osrs_x field -> number of samples (0 = skipped). */
function oversampling(field: number): number {
  return field === 0 ? 0 : field >= 5 ? 16 : 1 << (field - 1);
}
