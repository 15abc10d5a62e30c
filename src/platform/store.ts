/** A JSON value as kept by a Store. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Small persistent key -> JSON store (credentials, settings). Synchronous, like Moddable's
 * Preference. Keys are short ASCII names (Preference limits them to 15 characters).
 */
export interface Store {
  get(key: string): JsonValue | undefined;
  set(key: string, value: JsonValue): void;
  delete(key: string): void;
}

/** A Store kept in memory: for tests and for targets without flash. */
export class MemoryStore implements Store {
  private readonly values_ = new Map<string, string>();

  get(key: string): JsonValue | undefined {
    const text = this.values_.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
  }

  set(key: string, value: JsonValue): void {
    // Kept as text so that a caller mutating its object afterwards does not change the store.
    this.values_.set(key, JSON.stringify(value));
  }

  delete(key: string): void {
    this.values_.delete(key);
  }
}

/** A view of a Store whose keys carry a prefix: one store shared by several firmware instances. */
export class ScopedStore implements Store {
  constructor(
    private readonly inner_: Store,
    private readonly prefix_: string,
  ) {}

  get(key: string): JsonValue | undefined {
    return this.inner_.get(this.prefix_ + key);
  }

  set(key: string, value: JsonValue): void {
    this.inner_.set(this.prefix_ + key, value);
  }

  delete(key: string): void {
    this.inner_.delete(this.prefix_ + key);
  }
}
