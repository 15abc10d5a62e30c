import type { I2cChipModel } from './mock-i2c';
import { modelCrc8 } from './sensirion-crc';

/** Anything with now(): the model's view of time (a FakeClock in tests). */
export interface ModelClock {
  now(): number;
}

/** Single-shot commands (datasheet table 9) and their maximum duration in ms (table 4). */
const SINGLE_SHOT: Readonly<Record<number, number>> = Object.freeze({
  0x2400: 15.5, // high repeatability, no clock stretching
  0x240b: 6.5, // medium
  0x2416: 4.5, // low
  0x2c06: 15.5, // high, clock stretching
  0x2c0d: 6.5,
  0x2c10: 4.5,
});
const SOFT_RESET = 0x30a2;
const READ_STATUS = 0xf32d;
const CLEAR_STATUS = 0x3041;

/**
 * Register-level model of a Sensirion SHT30/31/35. A single-shot command prepares 6 bytes
 * (temperature word, CRC, humidity word, CRC) that one read returns; reading again, or reading
 * before the conversion time passed (when a clock is given), is NACKed like on the real chip.
 * Clock-stretching commands answer at once, as the chip holds the clock instead of NACKing.
 */
export class Sht3xModel implements I2cChipModel {
  rawTemperature = 0x6666; // 25.0 °C
  rawHumidity = 0x8000; // 50.0 %RH
  /** false: NACK everything, as if unplugged. */
  answering = true;
  /** Flip a bit in the CRC of the temperature word, the humidity word, or both. */
  corruptCrc: 'none' | 'temperature' | 'humidity' | 'both' = 'none';
  /** Every command received, for tests that check what the driver asked for. */
  readonly commands: number[] = [];

  private pending_: Uint8Array | undefined;
  private readyAt_ = 0;

  constructor(private readonly clock_?: ModelClock) {}

  /** Sets the temperature the next measurement reports (rounded to the nearest raw step). */
  setTemperature(celsius: number): void {
    this.rawTemperature = clamp16(Math.round(((celsius + 45) * 65535) / 175));
  }

  setHumidity(percent: number): void {
    this.rawHumidity = clamp16(Math.round((percent * 65535) / 100));
  }

  write(bytes: Uint8Array): boolean {
    if (!this.answering || bytes.length !== 2) return false;
    const command = (bytes[0] << 8) | bytes[1];
    this.commands.push(command);
    const duration = SINGLE_SHOT[command];
    if (duration !== undefined) {
      this.pending_ = this.measurement_();
      const stretching = (command & 0xff00) === 0x2c00;
      this.readyAt_ = this.clock_ && !stretching ? this.clock_.now() + duration : 0;
      return true;
    }
    if (command === SOFT_RESET || command === CLEAR_STATUS) {
      this.pending_ = undefined;
      return true;
    }
    if (command === READ_STATUS) {
      this.pending_ = Uint8Array.of(0x80, 0x10, modelCrc8(0x80, 0x10)); // alert pending, reset detected
      this.readyAt_ = 0;
      return true;
    }
    return false; // unknown command: the chip NACKs it
  }

  read(length: number): Uint8Array | undefined {
    if (!this.answering || !this.pending_) return undefined;
    if (this.clock_ && this.clock_.now() < this.readyAt_) return undefined; // still measuring
    const data = this.pending_;
    this.pending_ = undefined; // a result is read once
    const out = new Uint8Array(length);
    out.set(data.subarray(0, Math.min(length, data.length)));
    // Past the prepared bytes the chip leaves the bus high.
    for (let i = data.length; i < length; i++) out[i] = 0xff;
    return out;
  }

  private measurement_(): Uint8Array {
    const t = this.rawTemperature;
    const h = this.rawHumidity;
    let tCrc = modelCrc8(t >> 8, t & 0xff);
    let hCrc = modelCrc8(h >> 8, h & 0xff);
    if (this.corruptCrc === 'temperature' || this.corruptCrc === 'both') tCrc ^= 0x01;
    if (this.corruptCrc === 'humidity' || this.corruptCrc === 'both') hCrc ^= 0x01;
    return Uint8Array.of(t >> 8, t & 0xff, tCrc, h >> 8, h & 0xff, hCrc);
  }
}

function clamp16(value: number): number {
  return value < 0 ? 0 : value > 0xffff ? 0xffff : value;
}
