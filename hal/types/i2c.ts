/** The wires of an I2C bus (ECMA-419 names: data = SDA, clock = SCL). */
export interface I2cBusSpec {
  data: number;
  clock: number;
  /** Bus speed; 100000 or 400000 for the chips we support. */
  hz: number;
  /** Hardware port for platforms with several controllers. */
  port?: number;
}

/** One chip on a bus. */
export interface I2cSpec extends I2cBusSpec {
  /** 7-bit address. */
  address: number;
}

/**
 * One chip on an I2C bus, synchronous like ECMA-419. A chip that does not acknowledge (absent,
 * unpowered, wrong address) makes read/write throw HalError 'no-device'.
 */
export interface I2cDevice {
  readonly address: number;
  /** "I2C 0x44 (data 21, clock 22)": for error messages. */
  readonly where: string;
  /** Reads `length` bytes. `stop` defaults to true. */
  read(length: number, stop?: boolean): Uint8Array;
  /** Writes `bytes`. `stop` false keeps the bus for a repeated start (register read). */
  write(bytes: Uint8Array, stop?: boolean): void;
  close(): void;
}

/** "I2C 0x44 (data 21, clock 22)" */
export function describeI2c(spec: I2cSpec): string {
  const port = spec.port === undefined ? '' : ', port ' + spec.port;
  return 'I2C ' + hex2(spec.address) + ' (data ' + spec.data + ', clock ' + spec.clock + port + ')';
}

/** 0x44 */
export function hex2(value: number): string {
  return '0x' + (value < 16 ? '0' : '') + value.toString(16);
}
