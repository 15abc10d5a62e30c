/** A logic level as ECMA-419 reports it. */
export type Level = 0 | 1;

/**
 * Edge bits, numbered like ECMA-419's Digital.Rising / Digital.Falling so a mask can be passed
 * straight through. A frozen object, not an enum, so a preloaded module holds no mutable state.
 */
export const Edge = Object.freeze({ Rising: 1, Falling: 2, Both: 3 } as const);
/** 0 = no edge callbacks, 1 rising, 2 falling, 3 both. */
export type EdgeMask = 0 | 1 | 2 | 3;

export type DigitalInputMode = 'input' | 'input-pullup' | 'input-pulldown';
export type DigitalOutputMode = 'output' | 'output-open-drain';

export interface DigitalInputSpec {
  pin: number;
  mode: DigitalInputMode;
  /** Which edges call onEdge; defaults to Edge.Both when an onEdge callback is given. */
  edge?: EdgeMask;
}

export interface DigitalOutputSpec {
  pin: number;
  /** Defaults to 'output' (push-pull). */
  mode?: DigitalOutputMode;
  /** Level written right after opening, so a relay starts in a known state. Defaults to 0. */
  initial?: Level;
}

/**
 * Called on a configured edge with the level read when the callback runs. On hardware the callback
 * runs after the interrupt, so a bouncing contact may already be back: debounce in the app.
 */
export type EdgeCallback = (level: Level) => void;

export interface DigitalInput {
  readonly pin: number;
  /** Current level. Throws HalError 'closed' after close(). */
  read(): Level;
  /** Releases the pin; no edge callback fires afterwards. Safe to call twice. */
  close(): void;
}

export interface DigitalOutput {
  readonly pin: number;
  /** Drives the pin. Throws HalError 'range' for anything but 0 or 1, 'closed' after close(). */
  write(level: Level): void;
  /** The last level written (not a read-back of the wire). */
  read(): Level;
  /** Releases the pin. Safe to call twice. */
  close(): void;
}
