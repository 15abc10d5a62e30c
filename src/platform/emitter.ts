/**
 * A minimal typed event emitter. Listener lists live on the instance (never on a prototype), so
 * it keeps working after a Moddable preload froze every prototype.
 */
export class Emitter<Events extends { [K in keyof Events]: (a?: any, b?: any, c?: any) => unknown }> {
  private readonly listeners_: { [K in keyof Events]?: Events[K][] } = {};

  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    const list = this.listeners_[event] ?? (this.listeners_[event] = []);
    list.push(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Events[K]): void {
    const list = this.listeners_[event];
    if (!list) return;
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
  }

  /** True when someone listens to `event`. */
  has<K extends keyof Events>(event: K): boolean {
    const list = this.listeners_[event];
    return !!list && list.length > 0;
  }

  /**
   * Calls every listener; returns what they returned (for listeners that hand back a promise).
   * Fixed arity (events carry at most three arguments): a rest parameter and a spread call would
   * cost an array and stack slots on every message.
   */
  emit<K extends keyof Events>(event: K, a?: Parameters<Events[K]>[0], b?: Parameters<Events[K]>[1], c?: Parameters<Events[K]>[2]): unknown[] | undefined {
    const list = this.listeners_[event] as ((a: unknown, b: unknown, c: unknown) => unknown)[] | undefined;
    if (!list || list.length === 0) return undefined;
    if (list.length === 1) return [list[0](a, b, c)];
    const results: unknown[] = [];
    const copy = list.slice(); // a listener may add or remove listeners
    for (let i = 0; i < copy.length; i++) results.push(copy[i](a, b, c));
    return results;
  }
}
