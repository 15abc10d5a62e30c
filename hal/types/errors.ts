import { TbxsError } from './tbxs-error';

/**
 * What went wrong with a piece of hardware. Callers switch on `code`; the message names the chip,
 * the address and the bus or pin, so a person reading a log knows which wire to check.
 *
 * - `no-device`  the chip does not answer (I2C NACK), or a different chip answers.
 * - `crc`        the chip answered but the checksum is wrong (noise, loose wire): no value is given.
 * - `busy`       no fresh measurement yet (read() without start(), or before conversionMs passed).
 * - `bad-config` the request cannot be met: pin in use or invalid, wrong chip kind for the board.
 * - `range`      a value out of range was written (duty above the resolution, level not 0 or 1).
 * - `closed`     the IO object or sensor was used after close().
 * - `io`         anything else the platform reported, or a reading outside the chip's physical range.
 */
export type HalErrorCode = 'no-device' | 'crc' | 'busy' | 'bad-config' | 'range' | 'closed' | 'io';

export class HalError extends TbxsError<HalErrorCode> {
  constructor(code: HalErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, 'HalError', options);
  }
}

/** True when `error` is a HalError, optionally with the given code. */
export function isHalError(error: unknown, code?: HalErrorCode): error is HalError {
  return error instanceof HalError && (code === undefined || error.code === code);
}
