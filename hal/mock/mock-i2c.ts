import type { I2cDevice, I2cSpec } from '../types';
import { HalError, closedError, describeI2c } from '../types';

/**
 * A chip on the mock bus, modelled at register level. Returning false / undefined is a NACK: the
 * chip did not acknowledge (absent, busy, told to stop answering, unknown command).
 */
export interface I2cChipModel {
  write(bytes: Uint8Array, stop: boolean): boolean;
  read(length: number, stop: boolean): Uint8Array | undefined;
}

export interface I2cTransaction {
  address: number;
  op: 'write' | 'read';
  /** Bytes written, or bytes returned (empty on NACK). */
  bytes: number[];
  acked: boolean;
}

/** One bus (a data/clock pair). Chips are attached at addresses; an empty address NACKs. */
export class MockI2cBus {
  /**
   * The most recent transactions (at most `logLimit`, oldest dropped first), for tests that check
   * what a driver sent. Bounded: a simulated device reads its sensors for days.
   */
  readonly log: I2cTransaction[] = [];
  private readonly chips_ = new Map<number, I2cChipModel>();

  constructor(readonly logLimit = 256) {}

  attach(address: number, chip: I2cChipModel): void {
    this.chips_.set(address, chip);
  }

  detach(address: number): void {
    this.chips_.delete(address);
  }

  /** @internal */
  write(address: number, bytes: Uint8Array, stop: boolean): boolean {
    const chip = this.chips_.get(address);
    // Copy first: the chip or the caller may reuse the array.
    const copy = Array.from(bytes);
    const acked = chip ? chip.write(Uint8Array.from(copy), stop) : false;
    this.record_({ address, op: 'write', bytes: copy, acked });
    return acked;
  }

  /** @internal */
  read(address: number, length: number, stop: boolean): Uint8Array | undefined {
    const chip = this.chips_.get(address);
    const data = chip ? chip.read(length, stop) : undefined;
    this.record_({ address, op: 'read', bytes: data ? Array.from(data) : [], acked: data !== undefined });
    return data;
  }

  private record_(transaction: I2cTransaction): void {
    if (this.log.length >= this.logLimit) this.log.splice(0, this.log.length - this.logLimit + 1);
    this.log.push(transaction);
  }
}

export class MockI2cDevice implements I2cDevice {
  readonly address: number;
  readonly where: string;
  private closed_ = false;

  constructor(
    private readonly bus_: MockI2cBus,
    spec: I2cSpec,
  ) {
    this.address = spec.address;
    this.where = describeI2c(spec);
  }

  read(length: number, stop = true): Uint8Array {
    if (this.closed_) throw closedError(this.where);
    const data = this.bus_.read(this.address, length, stop);
    if (!data) throw new HalError('no-device', this.where + ': no acknowledge on read (chip absent, unpowered or busy)');
    if (data.length !== length) {
      throw new HalError('io', this.where + ': chip model returned ' + data.length + ' bytes, ' + length + ' asked');
    }
    return data;
  }

  write(bytes: Uint8Array, stop = true): void {
    if (this.closed_) throw closedError(this.where);
    if (!this.bus_.write(this.address, bytes, stop)) {
      throw new HalError('no-device', this.where + ': no acknowledge on write (chip absent, unpowered or wrong address)');
    }
  }

  close(): void {
    this.closed_ = true;
  }
}
