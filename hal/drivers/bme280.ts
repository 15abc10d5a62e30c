import type { I2cDevice, Readings, Sensor } from '../types';
import { HalError, closedError, hex2 } from '../types';
import type { Bme280Trim } from './bme280-compensation';
import { compensateHumidity, compensatePressure, compensateTemperature, parseTrim } from './bme280-compensation';
import { i2cFailure } from './i2c-errors';

const REG_CALIB_A = 0x88; // 26 bytes, 0x88..0xA1
const REG_ID = 0xd0;
const REG_CALIB_B = 0xe1; // 7 bytes, 0xE1..0xE7
const REG_CTRL_HUM = 0xf2;
const REG_STATUS = 0xf3;
const REG_CTRL_MEAS = 0xf4;
const REG_CONFIG = 0xf5;
const REG_DATA = 0xf7; // 8 bytes: pressure, temperature, humidity
const CHIP_ID = 0x60;
const BMP280_IDS: readonly number[] = Object.freeze([0x56, 0x57, 0x58]);
/** Oversampling x1 for T, P and H, forced mode: weather-station settings (datasheet 3.5.1). */
const CTRL_HUM_X1 = 0x01;
const CTRL_MEAS_FORCED_X1 = (1 << 5) | (1 << 2) | 0x01;
/**
 * The wait for a measurement at x1/x1/x1: the maximum, 1.25 + 2.3 + 2.875 + 2.875 = 9.3 ms
 * (appendix 9.1), plus a margin for a host timer that fires a little early (see sht3x.ts).
 */
const MEASURE_MS = 12;
/** The data registers hold this while a measurement was skipped or never made. */
const SKIPPED_20 = 0x80000;
const SKIPPED_16 = 0x8000;

/**
 * Bosch BME280 over I2C in forced mode. The chip id and trim are read once, on the first start()
 * (not in the constructor, so a missing chip can be retried later). read() refuses stale or
 * unfinished data with 'busy' and physically impossible values with 'io'.
 * Readings: temperature (°C), humidity (%RH), pressure (hPa).
 */
export class Bme280Driver implements Sensor {
  readonly kind = 'bme280';
  readonly conversionMs = MEASURE_MS;
  private trim_: Bme280Trim | undefined;
  private started_ = false;
  private closed_ = false;
  private readonly name_: string;

  constructor(private readonly device_: I2cDevice) {
    this.name_ = 'BME280 at ' + device_.where;
  }

  start(): void {
    if (this.closed_) throw closedError(this.name_);
    this.started_ = false;
    if (!this.trim_) this.trim_ = this.init_();
    // ctrl_hum only takes effect with the following ctrl_meas write (datasheet 5.4.3), so both go
    // in one transfer, in this order.
    this.write_('measure command', Uint8Array.of(REG_CTRL_HUM, CTRL_HUM_X1, REG_CTRL_MEAS, CTRL_MEAS_FORCED_X1));
    this.started_ = true;
  }

  read(): Readings {
    if (this.closed_) throw closedError(this.name_);
    const trim = this.trim_;
    if (!this.started_ || !trim) throw new HalError('busy', this.name_ + ': no measurement started; call start() and wait ' + MEASURE_MS + ' ms');
    const status = this.readRegisters_('status read', REG_STATUS, 1)[0];
    if (status & 0x08) throw new HalError('busy', this.name_ + ': still measuring; read ' + MEASURE_MS + ' ms after start()');
    this.started_ = false; // one result per start(): the registers keep old data afterwards
    const d = this.readRegisters_('data read', REG_DATA, 8);
    const adcP = (d[0] << 12) | (d[1] << 4) | (d[2] >> 4);
    const adcT = (d[3] << 12) | (d[4] << 4) | (d[5] >> 4);
    const adcH = (d[6] << 8) | d[7];
    if (adcT === SKIPPED_20 || adcP === SKIPPED_20 || adcH === SKIPPED_16) {
      throw new HalError('busy', this.name_ + ': measurement skipped (data registers at reset value); was the chip reset?');
    }
    const t = compensateTemperature(adcT, trim);
    const temperature = t.centi / 100;
    const pressure = compensatePressure(adcP, t.tFine, trim) / 100;
    const humidity = compensateHumidity(adcH, t.tFine, trim) / 1024;
    // Outside the chip's operating range (datasheet table 1, with margin) the bytes are garbage.
    if (temperature < -45 || temperature > 90 || pressure < 250 || pressure > 1150) {
      throw new HalError('io', this.name_ + ': implausible reading ' + temperature + ' °C, ' + pressure + ' hPa; bus noise or wrong trim');
    }
    return { temperature, humidity, pressure };
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.device_.close();
  }

  private init_(): Bme280Trim {
    const id = this.readRegisters_('chip id read', REG_ID, 1)[0];
    if (id !== CHIP_ID) {
      const hint = BMP280_IDS.indexOf(id) >= 0 ? ' (a BMP280, which has no humidity sensor)' : '';
      throw new HalError('bad-config', this.name_ + ': chip id is ' + hex2(id) + hint + ', a BME280 has ' + hex2(CHIP_ID) + '; check the board description');
    }
    const a = this.readRegisters_('trim read', REG_CALIB_A, 26);
    const b = this.readRegisters_('trim read', REG_CALIB_B, 7);
    if (a[0] === 0 && a[1] === 0) throw new HalError('io', this.name_ + ': trim dig_T1 is 0; the chip did not load its calibration');
    // Filter off and standby irrelevant in forced mode; config is only writable in sleep mode,
    // which the chip is in before the first measurement.
    this.write_('config write', Uint8Array.of(REG_CONFIG, 0x00));
    return parseTrim(a, b);
  }

  private readRegisters_(step: string, register: number, length: number): Uint8Array {
    try {
      this.device_.write(Uint8Array.of(register), false);
      return this.device_.read(length);
    } catch (error) {
      throw i2cFailure('BME280', this.device_, step, error);
    }
  }

  private write_(step: string, bytes: Uint8Array): void {
    try {
      this.device_.write(bytes);
    } catch (error) {
      throw i2cFailure('BME280', this.device_, step, error);
    }
  }
}
