import type { I2cDevice, Readings, Sensor } from '../types';
import { HalError, closedError, hex2, isHalError } from '../types';
import { i2cFailure } from './i2c-errors';
import { sensirionCrc8 } from './sensirion-crc';

/** Single shot, high repeatability, no clock stretching (datasheet table 9). */
const MEASURE_HIGH = Uint8Array.of(0x24, 0x00);
/**
 * The wait for that measurement: the datasheet's maximum (table 4: 15.5 ms) plus a margin, since
 * the timer that waits runs on the host's clock, not the chip's, and can fire a little early (seen
 * under load: read 16 ms after start() by the event loop, NACKed). The Sampler also retries a read
 * that finds it busy once.
 */
const MEASURE_MS = 19;

/** Converts the datasheet's raw words (section 4.13) to °C and %RH. */
export function sht3xTemperature(raw: number): number {
  return -45 + (175 * raw) / 65535;
}
export function sht3xHumidity(raw: number): number {
  return (100 * raw) / 65535;
}

/**
 * Sensirion SHT30/31/35 over I2C. start() sends the single-shot command; read(), at least
 * conversionMs later, fetches both words and checks both CRCs. No clock stretching, because
 * ESP32's I2C timeout is shorter than the 15 ms conversion.
 * Readings: temperature (°C), humidity (%RH).
 */
export class Sht3xDriver implements Sensor {
  readonly kind = 'sht3x';
  readonly conversionMs = MEASURE_MS;
  private started_ = false;
  private closed_ = false;
  private readonly name_: string;

  constructor(private readonly device_: I2cDevice) {
    this.name_ = 'SHT3x at ' + device_.where;
  }

  start(): void {
    if (this.closed_) throw closedError(this.name_);
    this.started_ = false;
    try {
      this.device_.write(MEASURE_HIGH);
    } catch (error) {
      throw i2cFailure('SHT3x', this.device_, 'measure command', error);
    }
    this.started_ = true;
  }

  read(): Readings {
    if (this.closed_) throw closedError(this.name_);
    if (!this.started_) throw new HalError('busy', this.name_ + ': no measurement started; call start() and wait ' + MEASURE_MS + ' ms');
    let data: Uint8Array;
    try {
      data = this.device_.read(6);
    } catch (thrown) {
      const error = i2cFailure('SHT3x', this.device_, 'result read', thrown);
      // The command was acknowledged, so a NACK now means the conversion is not finished (read too
      // early) or the chip was lost since: say both. The measurement stays started, so a later
      // read() can try again; the next start() tells the two apart.
      if (isHalError(error, 'no-device')) {
        throw new HalError('busy', this.name_ + ': no answer to the result read; read ' + MEASURE_MS + ' ms after start(), or check the wiring', { cause: error });
      }
      this.started_ = false;
      throw error;
    }
    this.started_ = false; // one result per start(), as on the chip
    checkWord(this.name_, 'temperature', data, 0);
    checkWord(this.name_, 'humidity', data, 3);
    return {
      temperature: sht3xTemperature((data[0] << 8) | data[1]),
      humidity: sht3xHumidity((data[3] << 8) | data[4]),
    };
  }

  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.device_.close();
  }
}

function checkWord(name: string, what: string, data: Uint8Array, offset: number): void {
  const expected = sensirionCrc8(data, offset, offset + 2);
  if (data[offset + 2] !== expected) {
    throw new HalError(
      'crc',
      name + ': CRC mismatch on ' + what + ' word ' + hex2(data[offset]) + ' ' + hex2(data[offset + 1]) + ' (got ' + hex2(data[offset + 2]) + ', expected ' + hex2(expected) + '): noise or a loose wire',
    );
  }
}
