/** Named numbers from one measurement, e.g. { temperature: 21.5, humidity: 40.1 }. */
export type Readings = Record<string, number>;

/**
 * A sensor measured in two steps, because the HAL owns no timers: start() asks the chip to
 * convert, and read(), called at least `conversionMs` later (the app's Clock schedules it), collects
 * the result. Sensors that need no conversion time have conversionMs 0 and a start() that does
 * nothing; their read() works at any time.
 *
 * Failures throw HalError (chosen over a result type so that a missed check cannot turn into a
 * number): 'no-device', 'crc', 'busy', 'io', 'closed'. A read() never returns a value it could not
 * verify. After a failure, call start() again to retry.
 */
export interface Sensor {
  /** Kind of chip, e.g. 'sht3x', for logs. */
  readonly kind: string;
  /** Milliseconds to wait between start() and read(). */
  readonly conversionMs: number;
  start(): void;
  read(): Readings;
  /** Closes the underlying IO. Safe to call twice. */
  close(): void;
}
