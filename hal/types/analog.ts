export interface AnalogSpec {
  pin: number;
  /** Requested resolution in bits; the platform may pick its own (read `resolution`). */
  resolution?: number;
}

export interface AnalogInput {
  readonly pin: number;
  /** Bits per sample: read() returns an integer in 0 .. 2^resolution - 1. */
  readonly resolution: number;
  /** One raw sample. Throws HalError 'closed' after close(). */
  read(): number;
  close(): void;
}
