import type { Bme280Calibration } from './bme280-physics';
import { DATASHEET_CALIBRATION, forwardTemperature, HUMIDITY, invert, PRESSURE, TEMPERATURE } from './bme280-physics';
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

  private readonly regs_ = new Uint8Array(256);
  private pointer_ = 0;
  private pending_: Bme280Raw | undefined;
  private readyAt_ = 0;

  constructor(
    calibration: Bme280Calibration = DATASHEET_CALIBRATION,
    private readonly clock_?: ModelClock,
    /** 0x60 for a BME280; 0x58 makes it a BMP280 (no humidity) for wrong-chip tests. */
    readonly chipId = 0x60,
  ) {
    this.calibration = { ...calibration };
    this.writeCalibration_();
    this.reset_();
  }

  /** Current register contents, for tests. */
  register(address: number): number {
    this.commit_();
    return this.regs_[address];
  }

  /** Raw ADC values for the current physical values (what the chip would convert to). */
  rawFor(temperature: number, pressure: number, humidity: number): Bme280Raw {
    const c = this.calibration;
    const adcT = invert(TEMPERATURE, temperature, 0, c);
    const tFine = forwardTemperature(adcT, c).tFine;
    const adcP = invert(PRESSURE, pressure, tFine, c);
    const adcH = invert(HUMIDITY, humidity, tFine, c);
    return { adcT, adcP, adcH };
  }

  write(bytes: Uint8Array): boolean {
    if (!this.answering || bytes.length === 0) return false;
    this.commit_();
    this.pointer_ = bytes[0];
    // (address, value) pairs; the register writes inline, not in a method per register: this runs
    // inside a simulated I2C transfer, deep in the firmware's XS stack.
    for (let i = 0; i + 1 < bytes.length; i += 2) {
      const address = bytes[i];
      const value = bytes[i + 1];
      if (address === REG_RESET) {
        if (value === RESET_WORD) this.reset_();
      } else if (address === REG_CTRL_HUM) {
        this.regs_[address] = value & 0x07;
      } else if (address === REG_CONFIG) {
        this.regs_[address] = value & 0xfd;
      } else if (address === REG_CTRL_MEAS) {
        this.regs_[address] = value;
        const mode = value & 0x03;
        if (mode === 1 || mode === 2) this.startForced_(value);
      }
      // Calibration, id, status and data registers are read-only: the chip ignores writes.
    }
    return true;
  }

  read(length: number): Uint8Array | undefined {
    if (!this.answering) return undefined;
    this.commit_();
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      const address = (this.pointer_ + i) & 0xff;
      out[i] = address === REG_STATUS ? this.status_() : this.regs_[address];
    }
    this.pointer_ = (this.pointer_ + length) & 0xff;
    return out;
  }

  private startForced_(ctrlMeas: number): void {
    const osT = oversampling((ctrlMeas >> 5) & 7);
    const osP = oversampling((ctrlMeas >> 2) & 7);
    // ctrl_hum takes effect only with this write to ctrl_meas (datasheet 5.4.3).
    const osH = oversampling(this.regs_[REG_CTRL_HUM] & 7);
    const raw = this.raw ?? this.rawFor(this.temperature, this.pressure, this.humidity);
    this.pending_ = {
      adcT: osT ? raw.adcT : SKIPPED_20,
      adcP: osP ? raw.adcP : SKIPPED_20,
      adcH: osH && this.chipId === 0x60 ? raw.adcH : SKIPPED_16,
    };
    // Maximum measurement time, datasheet appendix 9.1.
    const ms = 1.25 + 2.3 * osT + (osP ? 2.3 * osP + 0.575 : 0) + (osH ? 2.3 * osH + 0.575 : 0);
    this.readyAt_ = this.clock_ ? this.clock_.now() + ms : 0;
  }

  /** Publishes a finished conversion to the data registers and returns to sleep mode. */
  private commit_(): void {
    if (!this.pending_ || (this.clock_ && this.clock_.now() < this.readyAt_)) return;
    const { adcT, adcP, adcH } = this.pending_;
    this.pending_ = undefined;
    const r = this.regs_;
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

  private status_(): number {
    return this.pending_ ? 0x08 : 0x00;
  }

  private reset_(): void {
    this.regs_[REG_ID] = this.chipId;
    this.regs_[REG_CTRL_HUM] = 0;
    this.regs_[REG_CTRL_MEAS] = 0;
    this.regs_[REG_CONFIG] = 0;
    this.pending_ = { adcT: SKIPPED_20, adcP: SKIPPED_20, adcH: SKIPPED_16 };
    this.readyAt_ = 0;
    this.commit_();
  }

  private writeCalibration_(): void {
    const c = this.calibration;
    const words = [c.T1, c.T2, c.T3, c.P1, c.P2, c.P3, c.P4, c.P5, c.P6, c.P7, c.P8, c.P9];
    words.forEach((word, i) => {
      this.regs_[REG_CALIB_A + 2 * i] = word & 0xff; // little-endian
      this.regs_[REG_CALIB_A + 2 * i + 1] = (word >> 8) & 0xff;
    });
    this.regs_[0xa1] = c.H1 & 0xff;
    const b = REG_CALIB_B;
    this.regs_[b] = c.H2 & 0xff;
    this.regs_[b + 1] = (c.H2 >> 8) & 0xff;
    this.regs_[b + 2] = c.H3 & 0xff;
    // H4 and H5 are 12-bit values sharing 0xE5: H4 = E4[7:0] E5[3:0], H5 = E6[7:0] E5[7:4].
    this.regs_[b + 3] = (c.H4 >> 4) & 0xff;
    this.regs_[b + 4] = (c.H4 & 0x0f) | ((c.H5 & 0x0f) << 4);
    this.regs_[b + 5] = (c.H5 >> 4) & 0xff;
    this.regs_[b + 6] = c.H6 & 0xff;
  }
}

/** osrs_x field -> number of samples (0 = skipped). */
function oversampling(field: number): number {
  return field === 0 ? 0 : field >= 5 ? 16 : 1 << (field - 1);
}
