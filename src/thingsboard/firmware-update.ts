/**
 * ThingsBoard firmware OTA over MQTT (docs/ota-protocol.md): the server announces an image in
 * shared attributes (fw_title, fw_version, fw_size, fw_checksum_algorithm, fw_checksum); the
 * device fetches it chunk by chunk on `v2/fw/request/{requestId}/chunk/{n}` (payload: the chunk
 * size in ASCII) and `v2/fw/response/{requestId}/chunk/{n}`, writes each chunk to its UpdateTarget
 * as it arrives, and reports `fw_state` telemetry: DOWNLOADING, DOWNLOADED, VERIFIED, UPDATING,
 * then, after the restart into the new image, UPDATED; or FAILED with `fw_error`.
 *
 * One chunk in flight. A chunk without an answer is asked again after chunkTimeoutMs, at most
 * chunkAttempts times. A reconnect resumes at the first byte not yet written (the target keeps
 * what it has), never from zero. A new announcement during a download replaces it.
 *
 * Written small on purpose: it is in the ESP32 bundle, whose size budget OTA has to fit
 * (test/unit/esp32-bundle-size.test.ts), so states are few and checks share their code.
 */
import { clearTimer, type Clock, type TimerHandle } from '../platform/clock';
import { describeError } from '../platform/errors';
import { isIntegerIn, isNonEmptyString } from '../platform/guards';
import type { Log } from '../platform/log';
import type { JsonValue, Store } from '../platform/store';
import type { FirmwareImage, UpdateTarget } from '../platform/update-target';
import { utf8Decode } from '../platform/utf8';
import type { MqttSession } from '../mqtt/session';
import { invalidArgument } from './errors';
import type { JsonObject } from './json';
import type { SharedAttributesUpdate } from './shared-attributes';
import type { TbDevice } from './tb-device';
import * as T from './topics';

/** The shared attributes of an announcement, in the order ThingsBoard sets them. */
export const FIRMWARE_KEYS: readonly string[] = Object.freeze(['fw_title', 'fw_version', 'fw_size', 'fw_checksum_algorithm', 'fw_checksum']);

/** Store key of the image installed before a restart: the new image reports UPDATED when it matches. */
export const PENDING_KEY = 'fwPending';

/** Bytes of a chunk response that are not payload: the fixed header, topic length and topic. */
const CHUNK_OVERHEAD_BYTES = 64;
/** The largest chunk a ThingsBoard packet (65,536 bytes) carries. */
export const MAX_CHUNK_BYTES = 65_536 - CHUNK_OVERHEAD_BYTES;

export interface FirmwareUpdaterOptions {
  session: MqttSession;
  /** Telemetry (fw_state), the attribute request and shared attribute pushes. */
  device: TbDevice;
  clock: Clock;
  log: Log;
  store: Store;
  target: UpdateTarget;
  /** What runs now: reported as current_fw_title / current_fw_version. */
  current: { title: string; version: string };
  /** Bytes asked per chunk. Default 4096; at most what one packet of the session may carry. */
  chunkBytes?: number;
  /** A chunk without an answer this long is asked again. Default 10 s. */
  chunkTimeoutMs?: number;
  /** Tries per chunk before the download fails. Default 5. */
  chunkAttempts?: number;
  /** Timeout of the announcement request after each connect. Default 10 s. */
  requestTimeoutMs?: number;
  /** UPDATING is acknowledged (or this long passed) before the restart. Default 5 s. */
  restartWaitMs?: number;
}

export interface FirmwareUpdateStatus {
  /** 'idle' when no update is under way. */
  phase: 'idle' | 'downloading' | 'installing' | 'restarting';
  image?: FirmwareImage;
  /** Bytes written of the image. */
  offset: number;
  /** The last failure, as reported in fw_error. */
  error?: string;
}

/** Title and version, then the rest: a failed restart remembers the first two only (a prefix). */
function imageKey(i: FirmwareImage): string {
  return i.title + '\n' + i.version + '\n' + i.size + i.checksumAlgorithm + i.checksum;
}

export class FirmwareUpdater {
  private readonly o_: FirmwareUpdaterOptions;
  private readonly chunkBytes_: number;
  /** The fw_* shared attributes as last known (answer plus pushes). */
  private readonly announced_: { [key: string]: JsonValue } = {};
  private phase_: FirmwareUpdateStatus['phase'] = 'idle';
  private image_: FirmwareImage | undefined;
  private requestId_ = 0;
  private offset_ = 0;
  private chunk_ = 0;
  private tries_ = 0;
  private timer_: TimerHandle | undefined;
  /** The image whose update failed: not tried again until the server announces it anew. */
  private failedKey_ = '\0';
  private error_: string | undefined;
  /** The last fw_state report: the restart waits for it. */
  private lastTelemetry_: Promise<void> = Promise.resolve();
  private lastTs_ = 0;
  private closed_ = false;
  private readonly offShared_: () => void;

  constructor(options: FirmwareUpdaterOptions) {
    this.o_ = options;
    const session = options.session;
    const most = session.maxPacketBytes - CHUNK_OVERHEAD_BYTES;
    const chunk = (this.chunkBytes_ = options.chunkBytes ?? Math.min(4096, most));
    if (!isIntegerIn(chunk, 1, most)) throw invalidArgument('OTA chunk size must be an integer 1..' + most + ' (the packet limit), got ' + chunk);
    if (!isIntegerIn(options.chunkAttempts ?? 1, 1) || !((options.chunkTimeoutMs ?? 1) > 0)) throw invalidArgument('OTA chunkAttempts must be >= 1 and chunkTimeoutMs > 0');
    const events = session.events;
    events.on('connect', this.onConnect_);
    events.on('disconnect', this.onDisconnect_);
    events.on('message', this.onMessage_);
    this.offShared_ = options.device.onSharedAttributes(this.onShared_);
    session.subscribe(T.FIRMWARE_RESPONSE_FILTER, 1, this.onSubscribed_);
    session.subscribe(T.FIRMWARE_ERROR, 1, this.onSubscribed_);
    if (session.connected) this.onConnect_();
  }

  get status(): FirmwareUpdateStatus {
    return { phase: this.phase_, image: this.image_, offset: this.offset_, error: this.error_ };
  }

  /** Stops listening; an unfinished download is dropped (the target's partial image too). */
  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.stop_();
    const events = this.o_.session.events;
    events.off('connect', this.onConnect_);
    events.off('disconnect', this.onDisconnect_);
    events.off('message', this.onMessage_);
    this.offShared_();
  }

  // ---- announcements ----

  private readonly onSubscribed_ = (error?: Error): void => {
    if (error) this.o_.log.error('firmware topic subscription failed: ' + describeError(error));
  };

  private readonly onConnect_ = (): void => {
    const o = this.o_;
    if (this.closed_) return;
    // What runs, and whether the restart before this connect brought the installed image.
    const report: JsonObject = { current_fw_title: o.current.title, current_fw_version: o.current.version };
    const pending = o.store.get(PENDING_KEY) as { title?: JsonValue; version?: JsonValue } | undefined;
    if (pending && typeof pending === 'object') {
      const was = String(pending.title) + ' ' + String(pending.version);
      if (was === o.current.title + ' ' + o.current.version) {
        report.fw_state = 'UPDATED';
        if (o.target.confirm) o.target.confirm();
        o.log.info('firmware ' + was + ' runs: UPDATED');
      } else {
        report.fw_state = 'FAILED';
        report.fw_error = this.error_ = 'restarted into ' + o.current.title + ' ' + o.current.version + ', not the installed ' + was + ' (the new image did not start, or reports another version)';
        o.log.error('firmware update: ' + this.error_);
        this.failedKey_ = String(pending.title) + '\n' + String(pending.version) + '\n';
      }
      o.store.delete(PENDING_KEY);
    }
    this.telemetry_(report);
    // Resume at once, before the announcement's answer: a lost answer must not stall the download.
    if (this.phase_ === 'downloading') this.request_();
    o.device.requestAttributes({ sharedKeys: FIRMWARE_KEYS.slice() }, o.requestTimeoutMs ?? 10_000).then(
      (answer) => this.onAnnounce_(answer.shared, [], false),
      (error: unknown) => o.log.warn('firmware attributes not received: ' + describeError(error)),
    );
  };

  private readonly onDisconnect_ = (): void => {
    // The chunk asked for is lost with the connection; the next connect asks again.
    this.timer_ = clearTimer(this.o_.clock, this.timer_);
  };

  private readonly onShared_ = (update: SharedAttributesUpdate): void => this.onAnnounce_(update.values, update.deleted, true);

  /**
   * The fw_* values of an answer (every key: absent ones are gone) or a push (`pushed`: only the
   * keys it names, plus the deleted ones); acts on the announcement as then known.
   */
  private onAnnounce_(values: { [key: string]: JsonValue }, deleted: string[], pushed: boolean): void {
    const a = this.announced_;
    let touched = !pushed;
    for (const key of FIRMWARE_KEYS) {
      const has = Object.prototype.hasOwnProperty.call(values, key);
      if (has) a[key] = values[key];
      if ((!has && !pushed) || deleted.indexOf(key) >= 0) delete a[key];
      if (has || deleted.indexOf(key) >= 0) touched = true;
    }
    if (!touched || this.closed_) return;
    const image = readImage(a);
    const busy = this.phase_ !== 'idle';
    if (image === undefined) {
      if (this.phase_ === 'downloading') this.cancel_('the server no longer assigns a firmware');
      return;
    }
    if (typeof image === 'string') {
      // ThingsBoard sets the five together; a push may carry them in parts: wait for the rest.
      if (!pushed) this.fail_('firmware announcement unusable: ' + image);
      return;
    }
    const o = this.o_;
    const key = imageKey(image);
    if (image.title === o.current.title && image.version === o.current.version) {
      if (this.phase_ === 'downloading') this.cancel_('the server assigns the running version again');
    } else if (busy && this.phase_ !== 'downloading') {
      o.log.info('firmware ' + image.version + ' announced while installing: taken up after the restart');
    } else if (busy && imageKey(this.image_ as FirmwareImage) === key) {
      // The same download: it goes on.
    } else if (!pushed && key.indexOf(this.failedKey_) === 0) {
      o.log.debug('firmware ' + image.version + ' failed before; waiting for a new announcement');
    } else {
      this.begin_(image);
    }
  }

  // ---- download ----

  private begin_(image: FirmwareImage): void {
    const o = this.o_;
    const target = o.target;
    if (this.phase_ === 'downloading') o.log.info('firmware ' + image.version + ' replaces the download of ' + (this.image_ as FirmwareImage).version);
    this.stop_();
    this.image_ = image;
    this.failedKey_ = '\0';
    this.error_ = undefined;
    if (!target.supports(image.checksumAlgorithm)) return this.fail_('checksum algorithm ' + image.checksumAlgorithm + ' is not available on this device; upload the firmware with SHA256');
    if (image.size > target.capacity) return this.fail_('image of ' + image.size + ' bytes is larger than the update partition (' + target.capacity + ' bytes)');
    try {
      target.begin(image);
    } catch (error) {
      return this.fail_('cannot start writing the image: ' + describeError(error));
    }
    this.phase_ = 'downloading';
    this.requestId_++;
    this.offset_ = this.chunk_ = this.tries_ = 0;
    o.log.info('firmware ' + image.title + ' ' + image.version + ': downloading ' + image.size + ' bytes in chunks of ' + this.chunkBytes_);
    this.telemetry_({ fw_state: 'DOWNLOADING' });
    if (o.session.connected) this.request_();
  }

  /** Asks for the chunk at offset_ and arms its timeout. */
  private request_(): void {
    const o = this.o_;
    this.timer_ = clearTimer(o.clock, this.timer_);
    this.tries_++;
    this.timer_ = o.clock.setTimeout(this.onTimeout_, o.chunkTimeoutMs ?? 10_000);
    // A refusal (offline queue full) needs no callback: the timeout asks again.
    o.session.publish(T.FIRMWARE_REQUEST + this.requestId_ + T.CHUNK + this.chunk_, String(this.chunkBytes_), QOS1);
  }

  private readonly onTimeout_ = (): void => {
    const o = this.o_;
    this.timer_ = undefined;
    if (this.phase_ !== 'downloading') return;
    const what = 'chunk ' + this.chunk_ + ' not answered in ' + (o.chunkTimeoutMs ?? 10_000) + ' ms';
    if (this.tries_ >= (o.chunkAttempts ?? 5)) return this.fail_('timeout: ' + what + ', ' + this.tries_ + ' times');
    o.log.warn('firmware ' + what + '; asking again');
    if (o.session.connected) this.request_();
  };

  /** The session's 'message' listener (an arrow: no forwarding frame on the XS stack). */
  private readonly onMessage_ = (topic: string, payload: Uint8Array): void => {
    if (this.phase_ !== 'downloading') return;
    if (topic === T.FIRMWARE_ERROR) return this.fail_('server error: ' + utf8Decode(payload.subarray(0, 200)));
    // Answers to an earlier request id (a replaced download) or chunk (asked twice) are late copies.
    if (topic === T.FIRMWARE_RESPONSE + this.requestId_ + T.CHUNK + this.chunk_) this.onChunk_(payload);
  };

  private onChunk_(bytes: Uint8Array): void {
    const o = this.o_;
    const image = this.image_ as FirmwareImage;
    const size = image.size;
    const at = this.offset_;
    const expected = Math.min(this.chunkBytes_, size - at);
    if (bytes.length !== expected) {
      return this.fail_(bytes.length === 0 ? 'the server has no data from byte ' + at + ' on: the image is shorter than fw_size ' + size : 'chunk ' + this.chunk_ + ' has ' + bytes.length + ' bytes, expected ' + expected);
    }
    try {
      o.target.write(bytes);
    } catch (error) {
      return this.fail_('cannot write the image at byte ' + at + ': ' + describeError(error));
    }
    const offset = (this.offset_ += expected);
    this.chunk_++;
    this.tries_ = 0;
    // A line per tenth of the image.
    if (Math.floor((offset * 10) / size) !== Math.floor((at * 10) / size)) o.log.info('firmware ' + image.version + ': ' + offset + ' of ' + size + ' bytes');
    if (offset < size) return this.request_();
    this.timer_ = clearTimer(o.clock, this.timer_);
    this.phase_ = 'installing';
    this.telemetry_({ fw_state: 'DOWNLOADED' });
    o.target.verify().then(this.onVerified_, this.onInstallFailed_);
  }

  // ---- verify, install, restart ----

  private readonly onVerified_ = (): void => {
    if (this.closed_ || this.phase_ !== 'installing') return;
    this.telemetry_({ fw_state: 'VERIFIED' });
    this.telemetry_({ fw_state: 'UPDATING' });
    this.o_.target.install().then(this.onInstalled_, this.onInstallFailed_);
  };

  private readonly onInstalled_ = (): void => {
    const o = this.o_;
    if (this.closed_ || this.phase_ !== 'installing') return;
    const image = this.image_ as FirmwareImage;
    this.phase_ = 'restarting';
    o.store.set(PENDING_KEY, { title: image.title, version: image.version });
    o.log.info('firmware ' + image.title + ' ' + image.version + ' installed; restarting');
    // UPDATING should reach the server before the restart cuts the connection: its PUBACK, or
    // restartWaitMs at most.
    const restart = (): void => {
      if (this.closed_ || this.phase_ !== 'restarting') return;
      this.phase_ = 'idle';
      this.timer_ = clearTimer(o.clock, this.timer_);
      o.target.restart();
    };
    this.timer_ = o.clock.setTimeout(restart, o.restartWaitMs ?? 5000);
    this.lastTelemetry_.then(restart);
  };

  private readonly onInstallFailed_ = (error: unknown): void => {
    if (!this.closed_ && this.phase_ === 'installing') this.fail_(describeError(error));
  };

  // ---- endings ----

  /** Stops what runs: the timer, and an unfinished image. */
  private stop_(): void {
    this.timer_ = clearTimer(this.o_.clock, this.timer_);
    if (this.phase_ === 'downloading' || this.phase_ === 'installing') this.o_.target.abort();
    this.phase_ = 'idle';
  }

  /** The download stops without a report (the server withdrew it). */
  private cancel_(why: string): void {
    this.o_.log.info('firmware download of ' + (this.image_ as FirmwareImage).version + ' stopped: ' + why);
    this.stop_();
    this.image_ = undefined;
  }

  private fail_(why: string): void {
    this.stop_();
    this.error_ = why;
    if (this.image_) this.failedKey_ = imageKey(this.image_);
    this.o_.log.error('firmware update failed: ' + why);
    this.telemetry_({ fw_state: 'FAILED', fw_error: why });
  }

  /**
   * With a time stamp one past the last one at least: states sent in one turn (VERIFIED, UPDATING)
   * must not share a ts, under which the server would keep only the last. Never rejects.
   */
  private telemetry_(values: JsonObject): void {
    const now = this.o_.clock.now();
    const ts = (this.lastTs_ = now > this.lastTs_ ? now : this.lastTs_ + 1);
    this.lastTelemetry_ = this.o_.device.sendTelemetry({ ts, values }).then(undefined, (error: unknown) => this.o_.log.warn('firmware state not sent: ' + describeError(error)));
  }
}

const QOS1 = Object.freeze({ qos: 1 as const });

/** The image the fw_* attributes describe, what is wrong with them, or undefined when none is assigned. */
function readImage(a: { [key: string]: JsonValue }): FirmwareImage | string | undefined {
  const title = a.fw_title;
  // A version may be stored as a number when it looks like one (ThingsBoard casts attribute strings).
  const version = typeof a.fw_version === 'number' ? String(a.fw_version) : a.fw_version;
  const size = a.fw_size;
  const algorithm = a.fw_checksum_algorithm;
  const checksum = a.fw_checksum;
  if (title === undefined && version === undefined) return undefined;
  if (!isNonEmptyString(title) || !isNonEmptyString(version) || !isNonEmptyString(algorithm) || !isNonEmptyString(checksum) || !isIntegerIn(size, 1)) {
    return 'fw_title, fw_version, fw_checksum_algorithm and fw_checksum must be strings and fw_size a positive integer';
  }
  return { title, version, size, checksumAlgorithm: algorithm.toUpperCase(), checksum: checksum.toLowerCase() };
}
