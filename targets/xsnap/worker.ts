/**
 * A driver for @agoric/xsnap's `xsnap-worker` binary: the real Moddable XS engine in a child
 * process, spoken to over its netstring pipe protocol. No SES, no lockdown, no import of the
 * package's own Node API (its api.js calls `harden` at load time, which needs SES).
 *
 * Protocol (xsnap-native/xsnap/sources/xsnap-worker.c, @agoric/xsnap 0.15.0): netstrings
 * (`<len>:<bytes>,`) on fd 3 (host -> worker) and fd 4 (worker -> host). The host sends one
 * request and reads until its reply; while it runs, the worker may call `issueCommand(ab)`, which
 * arrives here as `?<bytes>` and blocks the worker until the host answers `/<bytes>`.
 *   host -> worker: `e<js source>` evaluate (indirect eval: a sloppy global script, no modules)
 *                   `?<bytes>`     call globalThis.handleCommand(ArrayBuffer)
 *                   `R` isReady, `s<path>`/`m<path>` run a script/module file, `w<path>` snapshot,
 *                   `q` quit
 *   worker -> host: `.<meter JSON>\x01<reply bytes>` done; reply = the result (or its `.result`)
 *                   when it is an ArrayBuffer, else empty. Meter JSON:
 *                   {"currentHeapCount":n,"compute":n,"allocate":n,"timestamps":[...]}
 *                   `!<message>` uncaught exception in the request (worker keeps running)
 *                   `?<bytes>` issueCommand from the worker; answer with `/<bytes>`
 * Before replying, the worker drains its job queue (promise reactions, setImmediate callbacks).
 * Exit codes: 11 not enough memory, 12 stack overflow, 15 unhandled exception, 16 no more keys,
 * 17 too much computation (the `-l` metering limit per request was exceeded), 2 I/O error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { buildStackHost } from './native/build.mjs';

/** What the worker reports after each request (evaluate or command). */
export interface XsMeter {
  /** Computrons used by this request (XS meter index at its end; reset to 0 per request). */
  computrons: number;
  /**
   * XS `currentHeapCount` after the request, in slots: those live at the last GC plus every slot
   * allocated since (fxNewSlot counts up, a GC resets it to the live count). The difference
   * between two requests is the slots allocated by the second one, as long as no GC ran between.
   */
  heapCount: number;
  /** Bytes of chunk heap XS has malloc'ed in total (grows, never per request). */
  allocatedBytes: number;
  /** gettimeofday() stamps (seconds) the worker took: request received, each issueCommand out/in, reply. */
  timestamps: number[];
}

export interface XsResult extends XsMeter {
  /** The ArrayBuffer the evaluated code / handleCommand returned, as bytes; empty otherwise. */
  reply: Uint8Array;
}

export interface XsWorkerOptions {
  /** Computrons allowed per request; the worker exits with code 17 beyond it. 0 = unlimited. Default 1e8. */
  meteringLimit?: number;
  /** Process name (argv[0]); must not start with '-'. */
  name?: string;
  /** Where `print()` output goes: inherited, dropped, or handed over line by line. Default 'inherit'. */
  stdout?: 'inherit' | 'ignore' | ((line: string) => void);
  stderr?: 'inherit' | 'ignore' | ((line: string) => void);
  /** Use the debug build (-O0 -g) instead of the release build. */
  debug?: boolean;
  /** Explicit binary path (else $XSNAP_WORKER, else the one @agoric/xsnap built at install). */
  bin?: string;
  /** XS parser buffer size in kB (default in the worker: 8192). */
  parserBufferSizeKb?: number;
}

/** See XsWorker.stackPeak(). */
export interface StackPeak {
  slots: number;
  frames: { slots: number; name: string }[];
}

export type CommandHandler = (bytes: Uint8Array) => Uint8Array | Promise<Uint8Array>;

export class XsExitError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
  ) {
    super(message);
  }
}

/** Uncaught exception inside the worker; the worker is still usable. */
export class XsEvalError extends Error {}

const EXIT_MEANING: Record<number, string> = {
  1: 'bad usage',
  2: 'I/O error',
  11: 'not enough memory',
  12: 'stack overflow',
  15: 'unhandled exception',
  16: 'no more keys',
  17: 'too much computation (metering limit)',
};

const OK = 0x2e; // '.'
const ERROR = 0x21; // '!'
const QUERY = 0x3f; // '?'
const COLON = 0x3a;
const COMMA = 0x2c;

/**
 * Path of the XS engine binary. By default tbxs's XS host (native/stack-host.c): @agoric/xsnap's
 * xsnap-worker, from the objects its install compiled, plus `tbxsLimitStack()` for a device-sized
 * stack; built by npm's postinstall, or here on first use (a second, the C compiler only links).
 * `debug` gives @agoric/xsnap's own debug build (-O0 -g), which cannot limit its stack.
 * $XSNAP_WORKER overrides both.
 */
export function xsnapWorkerPath(debug = false): string {
  const fromEnv = process.env.XSNAP_WORKER;
  if (fromEnv) return fromEnv;
  const platform = process.platform === 'linux' ? 'lin' : process.platform === 'darwin' ? 'mac' : undefined;
  if (!platform) throw new Error(`xsnap-worker is built for Linux and macOS only, not ${process.platform}`);
  if (!debug) return buildStackHost().path;
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('@agoric/xsnap/package.json'));
  const bin = join(root, 'xsnap-native/xsnap/build/bin', platform, 'debug', 'xsnap-worker');
  if (!existsSync(bin)) {
    throw new Error(
      `${bin} is missing: @agoric/xsnap's install script did not run. ` +
        'Check "allowScripts" in package.json, then run `npm rebuild @agoric/xsnap` (needs make and a C compiler).',
    );
  }
  return bin;
}

/**
 * What the XS host prints on a stack overflow (stack-host.c): the stack size, then one line per
 * frame, innermost first, with the slots in use at its entry. Turned into one line.
 */
export function describeOverflow(report: readonly string[]): string | undefined {
  const head = report.find((line) => line.includes('stack overflow'));
  if (!head) return undefined;
  const frames = report
    .map((line) => /^tbxs-xs:\s+(\d+) (.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => m[2] + '@' + m[1]);
  const text = head.replace(/^tbxs-xs: /, '');
  return frames.length > 0 ? text + '; innermost frames (slots in use at entry): ' + frames.slice(0, 8).join(' < ') : text;
}

/** Incremental netstring reader. */
class NetstringReader {
  private buffer: Uint8Array = new Uint8Array(0);

  constructor(private readonly onMessage: (message: Uint8Array) => void) {}

  push(chunk: Uint8Array): void {
    if (this.buffer.length === 0) this.buffer = chunk;
    else {
      const joined = new Uint8Array(this.buffer.length + chunk.length);
      joined.set(this.buffer, 0);
      joined.set(chunk, this.buffer.length);
      this.buffer = joined;
    }
    for (;;) {
      const colon = this.buffer.indexOf(COLON);
      if (colon < 0) {
        if (this.buffer.length > 10) throw new Error('xsnap protocol error: netstring length too long');
        return;
      }
      let length = 0;
      for (let i = 0; i < colon; i++) {
        const digit = this.buffer[i] - 0x30;
        if (digit < 0 || digit > 9) throw new Error('xsnap protocol error: bad netstring length');
        length = length * 10 + digit;
      }
      const end = colon + 1 + length;
      if (this.buffer.length < end + 1) return;
      if (this.buffer[end] !== COMMA) throw new Error('xsnap protocol error: netstring without trailing comma');
      const message = this.buffer.slice(colon + 1, end);
      this.buffer = this.buffer.subarray(end + 1);
      this.onMessage(message);
    }
  }
}

function netstring(prefix: number, body: Uint8Array): Buffer {
  const head = Buffer.from(`${body.length + 1}:${String.fromCharCode(prefix)}`, 'latin1');
  return Buffer.concat([head, body, Buffer.from(',')]);
}

interface Pending {
  resolve(result: XsResult): void;
  reject(error: Error): void;
}

function lineSink(sink: (line: string) => void): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    const text = rest + chunk.toString('utf8');
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) sink(line);
  };
}

export class XsWorker {
  private readonly toWorker: Writable;
  private readonly reader: NetstringReader;
  private pending: Pending | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private commandHandler: CommandHandler = (bytes) => bytes;
  private exitError: XsExitError | undefined;
  private readonly exited: Promise<void>;
  private closing = false;
  /** The XS host's stack-overflow report (stack-host.c), kept for the exit error. */
  private readonly overflowReport: string[] = [];
  private stackSlotsValue: number | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly name: string,
  ) {
    const stdio = child.stdio as unknown as [null, Readable | null, Readable | null, Writable, Readable];
    this.toWorker = stdio[3];
    this.toWorker.on('error', () => {
      /* EPIPE after the worker died: reported through 'exit' */
    });
    this.reader = new NetstringReader((message) => this.onMessage(message));
    stdio[4].on('data', (chunk: Buffer) => {
      try {
        this.reader.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (error) {
        this.fail(error as Error);
        child.kill();
      }
    });
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': stderr (the XS host's overflow report) has been read to its end by then.
      child.once('close', (code, signal) => {
        if (!(this.closing && code === 0)) {
          const meaning = code !== null ? EXIT_MEANING[code] ?? 'unknown error' : `signal ${signal}`;
          const overflow = code === 12 ? describeOverflow(this.overflowReport) : undefined;
          const message = overflow
            ? `XS worker ${name} died: ${overflow}`
            : `xsnap worker ${name} exited: ${meaning} (code ${code})` + (code === 12 && this.stackSlotsValue ? ` with a ${this.stackSlotsValue}-slot XS stack` : '');
          this.exitError = new XsExitError(message, code, signal);
        } else {
          this.exitError = new XsExitError(`xsnap worker ${name} is closed`, code, signal);
        }
        this.fail(this.exitError);
        resolve();
      });
    });
  }

  static async start(opts: XsWorkerOptions = {}): Promise<XsWorker> {
    const name = opts.name ?? 'tbxs-xs';
    if (name.startsWith('-')) throw new Error(`worker name '${name}' cannot start with '-'`);
    const bin = opts.bin ?? xsnapWorkerPath(opts.debug);
    const args = [];
    const limit = opts.meteringLimit ?? 1e8;
    if (limit > 0) args.push('-l', String(Math.floor(limit)));
    if (opts.parserBufferSizeKb) args.push('-s', String(opts.parserBufferSizeKb));
    const out = opts.stdout ?? 'inherit';
    const err = opts.stderr ?? 'inherit';
    // stderr is always read: the XS host reports a stack overflow there (see onStderrLine).
    const child = spawn(bin, args, {
      argv0: name,
      // Its own process group: a Ctrl-C in the terminal reaches only Node, which then stops the
      // worker in order. If Node dies, the worker sees its pipes close and exits by itself.
      detached: true,
      stdio: [
        'ignore',
        typeof out === 'function' ? 'pipe' : out,
        'pipe',
        'pipe', // 3: requests to the worker
        'pipe', // 4: replies from the worker
      ],
    });
    if (typeof out === 'function') child.stdout?.on('data', lineSink(out));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    const worker = new XsWorker(child, name);
    const forward = typeof err === 'function' ? err : err === 'inherit' ? (line: string) => process.stderr.write(line + '\n') : undefined;
    child.stderr?.on(
      'data',
      lineSink((line) => {
        worker.onStderrLine(line);
        forward?.(line);
      }),
    );
    // Round-trip once so a broken binary fails here, not on the first evaluate.
    await worker.request(0x52 /* 'R' */, new Uint8Array(0));
    return worker;
  }

  /**
   * Gives the machine a JavaScript stack of `slots` slots in all from now on, as a Moddable build's
   * manifest `creation.stack` does (XS's ~160 intrinsic roots included, as on the device). Call it
   * after loading the bundle: on a device the bundle is preloaded at build time, not run on the
   * board's stack. Needs tbxs's XS host (the default binary).
   */
  async limitStack(slots: number): Promise<void> {
    if (!Number.isInteger(slots) || slots < 64) throw new RangeError(`XS stack must be an integer of at least 64 slots, got ${slots}`);
    try {
      await this.evaluate(`tbxsLimitStack(${slots})`);
    } catch (error) {
      const message = (error as Error).message;
      if (/tbxsLimitStack.*(not defined|not found)|undefined.*tbxsLimitStack/i.test(message)) {
        throw new Error(`this XS binary cannot limit its stack (${message}): use tbxs's XS host, the default (not debug, not $XSNAP_WORKER)`);
      }
      throw error;
    }
    this.stackSlotsValue = slots;
  }

  /** The stack set by limitStack(), undefined while the worker has its own 4,096 slots. */
  get stackSlots(): number | undefined {
    return this.stackSlotsValue;
  }

  /** Slots of the XS stack in use at the moment of the call (XS host only). */
  async stackUsed(): Promise<number> {
    const result = await this.evaluate('var __tbxsUsed = new Uint32Array(1); __tbxsUsed[0] = tbxsStackUsed(); __tbxsUsed.buffer');
    return new DataView(result.reply.buffer, result.reply.byteOffset, 4).getUint32(0, true);
  }

  /**
   * The most XS stack slots in use since the last reset, with the frames at that moment (innermost
   * first, each with the slots in use at its entry), sampled by the XS host at every call and
   * branch. A profile that names the deep path; the smallest passing stack is found by search.
   */
  async stackPeak(reset = false): Promise<StackPeak> {
    const result = await this.evaluate(`var __tbxsPeak = new TextEncoder().encode(tbxsStackPeak(${reset})); __tbxsPeak.buffer`);
    const [slots, ...frames] = Buffer.from(result.reply).toString('utf8').split(';');
    return {
      slots: Number(slots),
      frames: frames.map((f) => {
        const space = f.indexOf(' ');
        return { slots: Number(f.slice(0, space)), name: f.slice(space + 1) };
      }),
    };
  }

  private onStderrLine(line: string): void {
    if (line.startsWith('tbxs-xs:') && this.overflowReport.length < 64) this.overflowReport.push(line);
  }

  /** Evaluates a script (not a module) in the global scope; resolves after the job queue drained. */
  evaluate(code: string): Promise<XsResult> {
    return this.request(0x65 /* 'e' */, Buffer.from(code, 'utf8'));
  }

  /** Calls `globalThis.handleCommand(ArrayBuffer)` in the worker; its returned ArrayBuffer is `reply`. */
  command(bytes: Uint8Array): Promise<XsResult> {
    return this.request(QUERY, bytes);
  }

  /** Answers the worker's synchronous `issueCommand(ArrayBuffer)` (default: echo). */
  onCommand(handler: CommandHandler): void {
    this.commandHandler = handler;
  }

  /** Asks the worker to quit and waits for it to exit. */
  async close(): Promise<void> {
    if (this.exitError) return;
    this.closing = true;
    await this.chain.catch(() => undefined);
    if (!this.exitError) {
      this.toWorker.write(netstring(0x71 /* 'q' */, new Uint8Array(0)));
      this.toWorker.end();
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills the worker at once. */
  async terminate(): Promise<void> {
    this.closing = true;
    if (!this.exitError) this.child.kill('SIGKILL');
    await this.exited;
  }

  private request(kind: number, body: Uint8Array): Promise<XsResult> {
    const run = () =>
      new Promise<XsResult>((resolve, reject) => {
        if (this.exitError) return reject(this.exitError);
        this.pending = { resolve, reject };
        this.toWorker.write(netstring(kind, body));
      });
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => undefined);
    return result;
  }

  private fail(error: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
  }

  private onMessage(message: Uint8Array): void {
    const kind = message[0];
    if (kind === QUERY) {
      void this.answer(message.subarray(1));
      return;
    }
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) throw new Error('xsnap protocol error: reply without a request');
    if (kind === OK) {
      const separator = message.indexOf(1, 1);
      const meter =
        separator < 0
          ? { compute: 0, currentHeapCount: 0, allocate: 0, timestamps: [] }
          : (JSON.parse(Buffer.from(message.subarray(1, separator)).toString('utf8')) as {
              compute: number;
              currentHeapCount: number;
              allocate: number;
              timestamps: number[];
            });
      pending.resolve({
        computrons: meter.compute,
        heapCount: meter.currentHeapCount,
        allocatedBytes: meter.allocate,
        timestamps: meter.timestamps,
        reply: message.slice(separator < 0 ? 1 : separator + 1),
      });
    } else if (kind === ERROR) {
      pending.reject(new XsEvalError(Buffer.from(message.subarray(1)).toString('utf8')));
    } else {
      pending.reject(new Error(`xsnap protocol error: unknown reply ${JSON.stringify(String.fromCharCode(kind))}`));
      this.child.kill();
    }
  }

  private async answer(request: Uint8Array): Promise<void> {
    let reply: Uint8Array;
    try {
      reply = await this.commandHandler(request);
    } catch (error) {
      // The worker is blocked inside issueCommand; it must get an answer. An empty one plus a
      // failed request is the least surprising outcome.
      reply = new Uint8Array(0);
      const pending = this.pending;
      this.pending = undefined;
      pending?.reject(error as Error);
      this.pending = { resolve: () => undefined, reject: () => undefined };
    }
    this.toWorker.write(netstring(0x2f /* '/' */, reply));
  }
}
