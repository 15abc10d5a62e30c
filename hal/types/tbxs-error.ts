/**
 * Base of the typed errors (MqttError, TbError, HalError): a stable `code` to switch on and a
 * message a person can act on. In hal/types, the lowest layer, so both hal/ and src/ build on it
 * (src/platform/errors.ts re-exports it).
 *
 * `name` is defined, not assigned: after a Moddable preload Error.prototype is frozen, and plain
 * assignment to an inherited read-only `name` throws.
 */
export class TbxsError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, name: string, options?: { cause?: unknown }) {
    super(message);
    this.code = code;
    Object.defineProperty(this, 'name', { value: name, enumerable: false, configurable: true });
    if (options && options.cause !== undefined) {
      Object.defineProperty(this, 'cause', { value: options.cause, enumerable: false, configurable: true });
    }
  }
}

/** Describes any thrown value in one line, for logs. */
export function describeError(error: unknown): string {
  if (error instanceof TbxsError) return error.name + ' ' + error.code + ': ' + error.message;
  if (error instanceof Error) return error.message;
  try {
    return String(error);
  } catch {
    // An object without a usable toString (Object.create(null)) must not break error reporting.
    return Object.prototype.toString.call(error);
  }
}
