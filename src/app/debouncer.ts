import { clearTimer, type Clock, type TimerHandle } from '../platform/clock';

/**
 * Settles a bouncing contact: every edge (re)starts a quiet-period timer, and only when the input
 * has been quiet for `ms` is `settle` called (once) so the caller reads the stable level.
 */
export class Debouncer {
  private timer_: TimerHandle | undefined;

  constructor(
    private readonly clock_: Clock,
    private readonly ms_: number,
    private readonly settle_: () => void,
  ) {}

  edge(): void {
    if (this.ms_ <= 0) {
      this.settle_();
      return;
    }
    this.cancel();
    this.timer_ = this.clock_.setTimeout(() => {
      this.timer_ = undefined;
      this.settle_();
    }, this.ms_);
  }

  cancel(): void {
    this.timer_ = clearTimer(this.clock_, this.timer_);
  }
}
