import { closedError } from '../types';
import { openFailed } from './platform-error';

/**
 * A Moddable IO object as every adapter holds it: opened with Moddable's plain Errors turned into
 * HalError 'bad-config' naming `where` ("digital output on pin 26"), 'closed' after close(), closed
 * once. Written once here rather than in each adapter, for the size of the ESP32 bundle.
 */
export class IoHandle<T extends { close(): void }> {
  private io_: T | undefined;

  constructor(
    readonly where: string,
    open: () => T,
  ) {
    try {
      this.io_ = open();
    } catch (error) {
      throw openFailed(where, error);
    }
  }

  /** The open Moddable object; HalError 'closed' after close(). */
  get io(): T {
    if (!this.io_) throw closedError(this.where);
    return this.io_;
  }

  get isOpen(): boolean {
    return this.io_ !== undefined;
  }

  close(): void {
    const io = this.io_;
    this.io_ = undefined;
    io?.close();
  }
}
