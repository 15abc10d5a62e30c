export interface PwmSpec {
  pin: number;
  /** Frequency in Hz; the platform default when absent. */
  hz?: number;
}

export interface PwmOutput {
  readonly pin: number;
  /** Bits of duty: write() takes an integer in 0 .. 2^resolution - 1. */
  readonly resolution: number;
  readonly hz: number;
  /** Sets the duty. Throws HalError 'range' outside 0 .. 2^resolution - 1, 'closed' after close(). */
  write(duty: number): void;
  close(): void;
}
