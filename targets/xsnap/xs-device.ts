/**
 * Runs the firmware on the real XS engine (xsnap-worker) with the host providing TCP/TLS sockets,
 * wall-clock timers and the state file. The Node side of bridge/protocol.ts.
 *
 *   const device = await runXsDevice({ host, port, credentials, stateDir, log });
 *   ...
 *   await device.close();
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeConnector } from '../host/platform/node-connector';
import { FileStore } from '../host/platform/file-store';
import { FileUpdateTarget } from '../host/platform/file-update-target';
import type { FirmwareImage } from '../../src/platform/update-target';
import { CHECKSUM_ALGORITHMS } from '../../src/thingsboard/fw-checksums';
import type { Log, LogLevel } from '../../src/platform/log';
import { silentLog } from '../../src/platform/log';
import type { Socket } from '../../src/platform/socket';
import type { JsonValue } from '../../src/platform/store';
import type { DeviceConnectionConfig } from '../../src/thingsboard/device-connection';
import { buildXsFirmware, ROOT } from './bundle';
import { CMD, decodeReply, encodeCommand, LOG_LEVELS, REC, type StartMessage } from './bridge/protocol';
import { XsWorker, type StackPeak, type XsWorkerOptions } from './worker';

/**
 * The Node device's options (DeviceConnectionConfig: host, port, tls, credentials or provisioning,
 * session and client tuning) plus where the state lives and where the log goes; the rest is XS-only.
 */
export interface XsDeviceOptions extends DeviceConnectionConfig {
  /** Where the state file (store.json, the same format as the Node device's FileStore) lives. */
  stateDir: string;
  /** Where the firmware's log lines go. Default: dropped. */
  log?: Log;
  /** The device's name for the firmware (shown in its attributes); default 'tbxs-xs'. */
  name?: string;
  /** Lowest level the worker forwards. Default 'info'. */
  logLevel?: LogLevel;
  /** Which firmware runs in the worker: 'firmware' (the app on the simulated board) or 'probe' (DeviceClient test firmware). */
  app?: string;
  /** Options for that app: 'firmware' takes { settings: { telemetryIntervalMs, ... }, version }, 'probe' { telemetryIntervalMs }. */
  appOptions?: JsonValue;
  /** xsnap-worker options (metering limit, binary, debug build). */
  worker?: Omit<XsWorkerOptions, 'stdout'>;
  /** Seed for the worker's random numbers (client id suffix, backoff jitter). Default: random. */
  seed?: number;
  /**
   * Run the bundle minified with the ESP32 build's terser options (private `_` members mangled,
   * as in dist/esp32/tbxs.min.js), so that the tests cover what the size budget measures. Default false.
   */
  minify?: boolean;
  /**
   * Simulate Moddable's preload (DESIGN.md): run the preload bundle (bundle.ts entry 'preload') and
   * freeze the built-ins and what every module holds at top level, as the XS linker leaves them,
   * before the app starts (preload/freeze.ts says what is and is not simulated). Default false.
   */
  preload?: boolean;
  /**
   * The XS stack in slots, as a Moddable build's manifest `creation.stack` sets it on the device
   * (XS's intrinsic roots included). Applied once the bundle is loaded, before the app starts:
   * on the device the bundle is preloaded at build time. Default: manifest.json's creation.stack
   * (manifestStackSlots()); 0 leaves xsnap's own 4,096. An overflow kills the worker and `done`
   * resolves with an Error naming the stack size and the innermost frames.
   */
  xsStack?: number;
  /**
   * Firmware updates over MQTT into the host's file target (as `tbxs device --ota-dir`): the
   * worker's firmware writes through the bridge; `onRestart` runs once an image was installed
   * (the caller closes this device and runs a new one with the installed version). The app
   * options' `ota` is set from it.
   */
  ota?: { dir: string; chunkBytes?: number; onRestart: (image: FirmwareImage) => void };
}

export interface XsDevice {
  /** Stops the firmware (DISCONNECT, sockets closed), then the worker. Safe to call twice. */
  close(): Promise<void>;
  /** The app's status as JSON (what the firmware reports about itself), plus bridge counters. */
  status(): Promise<XsDeviceStatus>;
  /** Resolves when the device stopped: undefined after close(), an Error when the worker or firmware failed. */
  readonly done: Promise<Error | undefined>;
  readonly worker: XsWorker;
  /** The XS host's stack profile: the peak since the last reset and its frames (XsWorker.stackPeak). */
  stackPeak(reset?: boolean): Promise<StackPeak>;
}

export interface XsDeviceStatus {
  started: boolean;
  starting: boolean;
  timers: number;
  sockets: number;
  app: JsonValue;
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

class XsDeviceHost implements XsDevice {
  readonly done: Promise<Error | undefined>;
  private finish!: (error: Error | undefined) => void;
  private readonly sockets = new Map<number, Socket>();
  private readonly connector = new NodeConnector();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private statusWaiters: ((status: XsDeviceStatus) => void)[] = [];
  private stopped = false;
  private closing: Promise<void> | undefined;

  constructor(
    readonly worker: XsWorker,
    private readonly store: FileStore,
    private readonly log: Log,
    private readonly updateTarget: FileUpdateTarget | undefined,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  /** Sends a command; the reply's records are applied in order (XsWorker serializes requests). */
  send(op: number, id = 0, payload?: Uint8Array): Promise<void> {
    if (this.stopped && op !== CMD.stop) return Promise.resolve();
    return this.worker.command(encodeCommand(op, id, payload)).then(
      (result) => this.apply(result.reply),
      (error: Error) => this.fail(error),
    );
  }

  private apply(reply: Uint8Array): void {
    const { delayMs, records } = decodeReply(reply);
    for (const r of records) {
      try {
        this.applyRecord(r.op, r.id, r.payload);
      } catch (error) {
        this.log.error('xs bridge: record ' + String.fromCharCode(r.op) + ' failed: ' + (error as Error).message);
      }
    }
    if (reply.length === 0 || this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (delayMs >= 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.send(CMD.tick);
      }, Math.ceil(delayMs));
    }
  }

  private applyRecord(op: number, id: number, payload: Uint8Array): void {
    switch (op) {
      case REC.write: {
        const socket = this.sockets.get(id);
        if (socket && !socket.write(payload)) void this.send(CMD.blocked, id);
        return;
      }
      case REC.connect: {
        const target = JSON.parse(textDecoder.decode(payload)) as { host: string; port: number; tls?: object };
        const old = this.sockets.get(id);
        if (old) old.close();
        const socket = this.connector.connect(target, {
          onConnect: () => void this.send(CMD.open, id),
          onData: (bytes) => void this.send(CMD.data, id, bytes),
          onDrain: () => void this.send(CMD.drain, id),
          onClose: (reason) => {
            if (this.sockets.get(id) !== socket) return;
            this.sockets.delete(id);
            void this.send(CMD.closed, id, reason ? textEncoder.encode(reason.message || String(reason)) : undefined);
          },
        });
        this.sockets.set(id, socket);
        return;
      }
      case REC.close: {
        const socket = this.sockets.get(id);
        this.sockets.delete(id);
        socket?.close();
        return;
      }
      case REC.log: {
        const level = LOG_LEVELS[id] ?? 'info';
        this.log[level](textDecoder.decode(payload));
        return;
      }
      case REC.storeSet: {
        const zero = payload.indexOf(0);
        if (zero < 0) throw new Error('store record without a key separator');
        const key = textDecoder.decode(payload.subarray(0, zero));
        this.store.set(key, JSON.parse(textDecoder.decode(payload.subarray(zero + 1))) as JsonValue);
        return;
      }
      case REC.storeDelete:
        this.store.delete(textDecoder.decode(payload));
        return;
      case REC.status: {
        const status = JSON.parse(textDecoder.decode(payload)) as XsDeviceStatus;
        const waiters = this.statusWaiters;
        this.statusWaiters = [];
        for (const w of waiters) w(status);
        return;
      }
      case REC.otaBegin:
      case REC.otaWrite:
      case REC.otaVerify:
      case REC.otaInstall:
      case REC.otaAbort:
      case REC.otaRestart:
        this.applyOta(op, id, payload);
        return;
      case REC.fatal: {
        const error = new Error(textDecoder.decode(payload));
        this.log.error('xs firmware: ' + error.message);
        void this.shutdown(error);
        return;
      }
      default:
        throw new Error('unknown record type ' + op);
    }
  }

  /**
   * The firmware's update target calls. A write that fails is remembered and reported by the
   * verify that follows (records have no answer); verify and install answer with CMD.otaResult.
   */
  private applyOta(op: number, id: number, payload: Uint8Array): void {
    const target = this.updateTarget;
    const answer = (error: unknown) => void this.send(CMD.otaResult, id, textEncoder.encode(error === undefined ? '' : (error as Error).message || String(error)));
    if (!target) {
      if (op === REC.otaVerify || op === REC.otaInstall) answer(new Error('this host has no update target (--ota-dir)'));
      return;
    }
    try {
      if (op === REC.otaBegin) {
        this.otaWriteError = undefined;
        target.begin(JSON.parse(textDecoder.decode(payload)) as FirmwareImage);
      } else if (op === REC.otaWrite) {
        if (this.otaWriteError === undefined) target.write(payload);
      } else if (op === REC.otaVerify) {
        const failed = this.otaWriteError;
        if (failed) answer(failed);
        else target.verify().then(() => answer(undefined), answer);
      } else if (op === REC.otaInstall) target.install().then(() => answer(undefined), answer);
      else if (op === REC.otaAbort) target.abort();
      else target.restart();
    } catch (error) {
      if (op === REC.otaWrite || op === REC.otaBegin) this.otaWriteError = error as Error;
      this.log.error('xs bridge: update target: ' + (error as Error).message);
    }
  }

  private otaWriteError: Error | undefined;

  stackPeak(reset = false): Promise<StackPeak> {
    return this.worker.stackPeak(reset);
  }

  status(): Promise<XsDeviceStatus> {
    if (this.stopped) return Promise.reject(new Error('the XS device is closed'));
    const answer = new Promise<XsDeviceStatus>((resolve) => this.statusWaiters.push(resolve));
    return this.send(CMD.status).then(() => answer);
  }

  close(): Promise<void> {
    return this.shutdown(undefined);
  }

  private fail(error: Error): void {
    if (this.stopped) return;
    // Reported once, by whoever watches `done` (the CLI prints it as its one error line).
    this.log.debug('xs worker: ' + error.message);
    void this.shutdown(error);
  }

  private shutdown(error: Error | undefined): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      if (!error) await this.send(CMD.stop).catch(() => undefined);
      this.stopped = true;
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      for (const socket of this.sockets.values()) socket.close();
      this.sockets.clear();
      await this.worker.close().catch(() => undefined);
      this.finish(error);
    })();
    return this.closing;
  }
}

function readState(stateDir: string): { [key: string]: unknown } {
  try {
    const value = JSON.parse(readFileSync(join(stateDir, 'store.json'), 'utf8')) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as { [key: string]: unknown }) : {};
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}

/**
 * Starts the firmware on XS: builds (or reuses) dist/xsnap/firmware.js, starts xsnap-worker,
 * loads the bundle, and starts the app with the configuration. Resolves once the app was asked to start
 * (the connection comes up by itself, like on the Node device); fails when xsnap-worker is
 * missing (message says to run `npm rebuild @agoric/xsnap`) or the bundle does not load.
 */
export async function runXsDevice(options: XsDeviceOptions): Promise<XsDevice> {
  const log = options.log ?? silentLog;
  const stack = options.xsStack ?? manifestStackSlots();
  const store = new FileStore(options.stateDir); // creates the directory, checks the file
  const code = await buildXsFirmware(options.preload ? 'preload' : 'firmware', { minify: options.minify === true });
  const worker = await XsWorker.start({
    name: 'tbxs-xs',
    ...options.worker,
    stdout: (line) => log.debug('xs print: ' + line),
  });
  try {
    await worker.evaluate(code);
    if (options.preload) await worker.evaluate('tbxsPreload.freeze()');
    if (stack > 0) await worker.limitStack(stack);
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  const ota = options.ota;
  const updateTarget = ota ? new FileUpdateTarget({ dir: ota.dir, onRestart: ota.onRestart }) : undefined;
  const device = new XsDeviceHost(worker, store, log, updateTarget);
  const config: DeviceConnectionConfig = {
    host: options.host,
    port: options.port,
    tls: options.tls,
    clientId: options.clientId,
    credentials: options.credentials,
    provisioning: options.provisioning,
    session: options.session,
    client: options.client,
  };
  const start: StartMessage = {
    config,
    resolved: await resolveIpv4(options.host),
    name: options.name ?? 'tbxs-xs',
    store: readState(options.stateDir),
    seed: options.seed ?? Math.floor(Math.random() * 0xffffffff),
    logLevel: options.logLevel ?? 'info',
    app: options.app ?? 'firmware',
    appOptions: ota ? { ...(options.appOptions as object | undefined), ota: ota.chunkBytes === undefined ? {} : { chunkBytes: ota.chunkBytes } } : options.appOptions,
    ...(updateTarget ? { ota: { capacity: updateTarget.capacity, algorithms: CHECKSUM_ALGORITHMS.filter((a) => updateTarget.supports(a)) } } : {}),
  };
  await device.send(CMD.start, 0, textEncoder.encode(JSON.stringify(start)));
  return device;
}

/**
 * The XS stack the device gets: manifest.json's `creation.stack` (mcconfig's default, 384, when the
 * manifest sets none, as Moddable's tools do).
 */
export function manifestStackSlots(manifestPath = join(ROOT, 'manifest.json')): number {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { creation?: { stack?: unknown } };
  const stack = manifest.creation?.stack;
  if (stack === undefined) return MODDABLE_DEFAULT_STACK_SLOTS;
  if (typeof stack !== 'number' || !Number.isInteger(stack) || stack < 64) {
    throw new Error(`${manifestPath}: creation.stack must be an integer number of slots (>= 64), got ${JSON.stringify(stack)}`);
  }
  return stack;
}

/** What mcconfig gives an app whose manifest sets no creation.stack (tools/mcconfig, all platforms). */
export const MODDABLE_DEFAULT_STACK_SLOTS = 384;

/**
 * The firmware's socket adapter takes IPv4 addresses only, as Moddable's embedded:io/socket/tcp
 * does, and asks for names through the bridge: the host resolves the server's name once, here.
 * An unresolvable name is left out, and the firmware reports it when it connects.
 */
async function resolveIpv4(host: string): Promise<{ [host: string]: string }> {
  if (isIP(host) === 4) return {};
  try {
    const { address } = await lookup(host, { family: 4 });
    return { [host]: address };
  } catch {
    return {};
  }
}
