import type { Clock } from '../platform/clock';
import { describeError } from '../platform/errors';
import type { JsonValue } from '../platform/store';
import { invalidArgument } from './errors';
import { isObject } from './json';
import { isNonEmptyString, isPromiseLike, isString } from '../platform/guards';

export interface RpcRequest {
  method: string;
  params: JsonValue;
  /** The request id as the server sent it. */
  id: string | number;
}

/** A server-side RPC handler: its return value (or resolved value) is the reply; throwing sends {"error": ...}. */
export type RpcHandler = (params: JsonValue, request: RpcRequest) => JsonValue | void | Promise<JsonValue | void>;

export interface RpcRegistryOptions {
  clock: Clock;
  /** A handler that has not answered by then gets an error reply; keep it under the server's 5-10 s. Default 4000. */
  handlerTimeoutMs?: number;
  /** Registered methods. Default 32. */
  maxMethods?: number;
  /** RPCs running at once; more get a "busy" error reply. Default 4. */
  maxConcurrent?: number;
}

/**
 * Server-side RPC methods by exact name (never by prefix), and the rules every reply follows:
 * unknown method, throwing handler, rejected promise and missed deadline all answer
 * {"error": "..."}, so the server never waits in silence. `maxConcurrent` bounds the handlers whose
 * promises are pending (a synchronous handler is done when invoke returns).
 */
export class RpcRegistry {
  private readonly handlers_ = new Map<string, RpcHandler>();
  private running_ = 0;
  private readonly clock_: Clock;
  private readonly handlerTimeoutMs_: number;
  private readonly maxMethods_: number;
  private readonly maxConcurrent_: number;

  constructor(options: RpcRegistryOptions) {
    this.clock_ = options.clock;
    this.handlerTimeoutMs_ = options.handlerTimeoutMs ?? 4000;
    this.maxMethods_ = options.maxMethods ?? 32;
    this.maxConcurrent_ = options.maxConcurrent ?? 4;
  }

  /** Registers (or replaces) the handler for `method`; returns a function that removes it. */
  register(method: string, handler: RpcHandler): () => void {
    if (!isNonEmptyString(method)) throw invalidArgument('RPC method name must be a non-empty string');
    if (typeof handler !== 'function') throw invalidArgument('RPC handler for ' + method + ' must be a function');
    if (!this.handlers_.has(method) && this.handlers_.size >= this.maxMethods_) {
      throw invalidArgument('too many RPC methods (cap ' + this.maxMethods_ + ')');
    }
    this.handlers_.set(method, handler);
    return () => {
      if (this.handlers_.get(method) === handler) this.handlers_.delete(method);
    };
  }

  has(method: string): boolean {
    return this.handlers_.has(method);
  }

  methods(): string[] {
    return Array.from(this.handlers_.keys());
  }

  /**
   * Runs the handler for `body` (the parsed request, {method, params}). A synchronous answer (the
   * handler's value, or an error for a bad request, an unknown method, a busy registry or a
   * throwing handler) is returned; for a promise, `reply` is called exactly once later (its value,
   * its rejection, or a missed deadline, all as {"error": ...}) and invoke returns undefined.
   * Returning instead of calling keeps the reply's encode and write off the handler's stack.
   */
  invoke(body: JsonValue, id: string | number, reply: (value: JsonValue) => void): JsonValue | undefined {
    if (!isObject(body) || !isString(body.method)) return { error: 'RPC request must be a JSON object with a string "method"' };
    const method = body.method;
    const params = body.params === undefined ? null : body.params;
    const handler = this.handlers_.get(method);
    if (!handler) return { error: 'unknown method: ' + method };
    if (this.running_ >= this.maxConcurrent_) return { error: 'busy: ' + this.running_ + ' RPCs are still running' };
    let result: JsonValue | void | Promise<JsonValue | void>;
    try {
      result = handler(params, { method, params, id });
    } catch (error) {
      return { error: method + ' failed: ' + describeError(error) };
    }
    if (!isPromiseLike(result)) return result === undefined ? {} : (result as JsonValue);
    this.running_++;
    let answered = false;
    const answer = (value: JsonValue) => {
      if (answered) return;
      answered = true;
      this.running_--;
      this.clock_.clearTimeout(timer);
      reply(value);
    };
    const timer = this.clock_.setTimeout(
      () => answer({ error: 'method ' + method + ' did not answer within ' + this.handlerTimeoutMs_ + ' ms' }),
      this.handlerTimeoutMs_,
    );
    (result as PromiseLike<JsonValue | void>).then(
      (value) => answer(value === undefined ? {} : value),
      (error: unknown) => answer({ error: method + ' failed: ' + describeError(error) }),
    );
    return undefined;
  }
}
