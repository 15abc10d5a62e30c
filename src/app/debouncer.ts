import type { Clock, TimerHandle } from '../platform/clock';

/**
 * Settles a bouncing contact: every edge (re)starts a quiet-period timer, and only when the input
 * has been quiet for `ms` is `settle` called (once) so the caller reads the stable level.
 */
export class Debouncer {
  private timer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly ms: number,
    private readonly settle: () => void,
  ) {}

  edge(): void {
    if (this.ms <= 0) {
      this.settle();
      return;
    }
    this.cancel();
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.settle();
    }, this.ms);
  }

  cancel(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
