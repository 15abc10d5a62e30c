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
 */
import { clearTimer, type Clock, type TimerHandle } from '../platform/clock';
import { describeError } from '../platform/errors';
import { isIntegerIn, isNonEmptyString, isString } from '../platform/guards';
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

export type FirmwareState = 'DOWNLOADING' | 'DOWNLOADED' | 'VERIFIED' | 'UPDATING' | 'UPDATED' | 'FAILED';

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

/** The announcement's identity: a download is replaced only by a different one. */
function imageKey(image: FirmwareImage): string {
  return image.title + '\n' + image.version + '\n' + image.size + '\n' + image.checksumAlgorithm + '\n' + image.checksum.toLowerCase();
}

export class FirmwareUpdater {
  private readonly o_: FirmwareUpdaterOptions;
  private readonly chunkBytes_: number;
  private readonly chunkTimeoutMs_: number;
  private readonly attempts_: number;
  /** The fw_* shared attributes as last known (answer plus pushes). */
  private readonly announced_: { [key: string]: JsonValue } = {};
  private phase_: FirmwareUpdateStatus['phase'] = 'idle';
  private image_: FirmwareImage | undefined;
  private requestId_ = 0;
  private offset_ = 0;
  private chunk_ = 0;
  private tries_ = 0;
  private timer_: TimerHandle | undefined;
  private nextReport_ = 0;
  /** The image whose update failed: not tried again until the server announces it anew. */
  private failedKey_ = '';
  private error_: string | undefined;
  /** The last fw_state report: the restart waits for it. */
  private lastTelemetry_: Promise<void> = Promise.resolve();
  private lastTs_ = 0;
  private closed_ = false;
  private readonly offShared_: () => void;

  constructor(options: FirmwareUpdaterOptions) {
    this.o_ = options;
    const most = options.session.maxPacketBytes - CHUNK_OVERHEAD_BYTES;
    this.chunkBytes_ = options.chunkBytes ?? Math.min(4096, most);
    if (!isIntegerIn(this.chunkBytes_, 1, most)) {
      throw invalidArgument('OTA chunk size must be an integer 1..' + most + ' (the session accepts packets of ' + options.session.maxPacketBytes + ' bytes), got ' + options.chunkBytes);
    }
    this.chunkTimeoutMs_ = options.chunkTimeoutMs ?? 10_000;
    this.attempts_ = options.chunkAttempts ?? 5;
    if (!(this.chunkTimeoutMs_ > 0)) throw invalidArgument('OTA chunk timeout must be > 0 ms');
    if (!isIntegerIn(this.attempts_, 1)) throw invalidArgument('OTA chunk attempts must be an integer >= 1');
    const events = options.session.events;
    events.on('connect', this.onConnect_);
    events.on('disconnect', this.onDisconnect_);
    events.on('message', this.onMessage_);
    this.offShared_ = options.device.onSharedAttributes(this.onShared_);
    options.session.subscribe(T.FIRMWARE_RESPONSE_FILTER, 1, this.onSubscribed_);
    options.session.subscribe(T.FIRMWARE_ERROR, 1, this.onSubscribed_);
    if (options.session.connected) this.onConnect_();
  }

  get status(): FirmwareUpdateStatus {
    const s: FirmwareUpdateStatus = { phase: this.phase_, offset: this.offset_ };
    if (this.image_) s.image = { ...this.image_ };
    if (this.error_ !== undefined) s.error = this.error_;
    return s;
  }

  /** Stops listening; an unfinished download is dropped (the target's partial image too). */
  close(): void {
    if (this.closed_) return;
    this.closed_ = true;
    this.timer_ = clearTimer(this.o_.clock, this.timer_);
    const events = this.o_.session.events;
    events.off('connect', this.onConnect_);
    events.off('disconnect', this.onDisconnect_);
    events.off('message', this.onMessage_);
    this.offShared_();
    if (this.phase_ === 'downloading') this.o_.target.abort();
    this.phase_ = 'idle';
  }

  // ---- announcements ----

  private readonly onSubscribed_ = (error?: Error): void => {
    if (error) this.o_.log.error('firmware topic subscription failed: ' + describeError(error));
  };

  private readonly onConnect_ = (): void => {
    if (this.closed_) return;
    this.reportCurrent_();
    // Resume at once, before the announcement's answer: a lost answer must not stall the download.
    if (this.phase_ === 'downloading') this.request_();
    this.o_.device.requestAttributes({ sharedKeys: FIRMWARE_KEYS.slice() }, this.o_.requestTimeoutMs ?? 10_000).then(
      (answer) => this.onAnswer_(answer.shared),
      (error: unknown) => this.o_.log.warn('firmware attributes not received: ' + describeError(error)),
    );
  };

  private readonly onDisconnect_ = (): void => {
    // The chunk asked for is lost with the connection; the next connect asks again.
    this.timer_ = clearTimer(this.o_.clock, this.timer_);
  };

  /** After each connect: what runs, and whether the restart before this one brought the new image. */
  private reportCurrent_(): void {
    const o = this.o_;
    const report: JsonObject = { current_fw_title: o.current.title, current_fw_version: o.current.version };
    const pending = o.store.get(PENDING_KEY) as { title?: JsonValue; version?: JsonValue } | undefined;
    if (pending && typeof pending === 'object') {
      if (pending.title === o.current.title && pending.version === o.current.version) {
        report.fw_state = 'UPDATED';
        if (o.target.confirm) o.target.confirm();
        o.log.info('firmware ' + o.current.title + ' ' + o.current.version + ' runs: UPDATED');
      } else {
        report.fw_state = 'FAILED';
        report.fw_error = this.error_ = 'restarted into ' + o.current.title + ' ' + o.current.version + ', not the installed ' + String(pending.title) + ' ' + String(pending.version) + ' (the new image did not start, or reports another version)';
        o.log.error('firmware update: ' + report.fw_error);
        this.failedKey_ = String(pending.title) + '\n' + String(pending.version) + '\n';
      }
      o.store.delete(PENDING_KEY);
    }
    this.telemetry_(report);
  }

  private onAnswer_(shared: JsonObject): void {
    if (this.closed_) return;
    for (const key of FIRMWARE_KEYS) {
      if (Object.prototype.hasOwnProperty.call(shared, key)) this.announced_[key] = shared[key];
      else delete this.announced_[key];
    }
    this.consider_(false);
  }

  private readonly onShared_ = (update: SharedAttributesUpdate): void => {
    if (this.closed_) return;
    let touched = false;
    for (const key of FIRMWARE_KEYS) {
      if (Object.prototype.hasOwnProperty.call(update.values, key)) {
        this.announced_[key] = update.values[key];
        touched = true;
      }
      if (update.deleted.indexOf(key) >= 0) {
        delete this.announced_[key];
        touched = true;
      }
    }
    if (touched) this.consider_(true);
  };

  /** Acts on the announcement as now known; `pushed`: the server announced it just now. */
  private consider_(pushed: boolean): void {
    const a = this.announced_;
    const o = this.o_;
    if (a.fw_title === undefined && a.fw_version === undefined) {
      if (this.phase_ === 'downloading') this.cancel_('the server no longer assigns a firmware');
      return;
    }
    const image = readImage(a);
    if (isString(image)) {
      // ThingsBoard sets the five together; a push may carry them in parts: wait for the rest.
      if (pushed) {
        o.log.debug('firmware announcement incomplete so far: ' + image);
        return;
      }
      this.fail_('firmware announcement unusable: ' + image, undefined);
      return;
    }
    const key = imageKey(image);
    if (image.title === o.current.title && image.version === o.current.version) {
      if (this.phase_ === 'downloading') this.cancel_('the server assigns the running version again');
      return;
    }
    if (this.phase_ === 'installing' || this.phase_ === 'restarting') {
      o.log.info('firmware ' + image.version + ' announced while ' + this.phase_ + ' ' + (this.image_ ? this.image_.version : '') + ': taken up after the restart');
      return;
    }
    if (this.image_ && this.phase_ === 'downloading' && imageKey(this.image_) === key) return;
    // A prefix: a restart into the wrong version remembers only title and version.
    if (!pushed && this.failedKey_ !== '' && key.indexOf(this.failedKey_) === 0) {
      o.log.debug('firmware ' + image.version + ' failed before; waiting for a new announcement');
      return;
    }
    this.begin_(image);
  }

  // ---- download ----

  private begin_(image: FirmwareImage): void {
    const o = this.o_;
    if (this.phase_ === 'downloading') {
      o.log.info('firmware ' + image.version + ' replaces the download of ' + (this.image_ as FirmwareImage).version);
      o.target.abort();
    }
    this.timer_ = clearTimer(o.clock, this.timer_);
    this.phase_ = 'idle';
    this.image_ = image;
    this.failedKey_ = '';
    this.error_ = undefined;
    if (!o.target.supports(image.checksumAlgorithm)) {
      this.fail_('checksum algorithm ' + image.checksumAlgorithm + ' is not available on this device; upload the firmware with SHA256', image);
      return;
    }
    if (image.size > o.target.capacity) {
      this.fail_('image of ' + image.size + ' bytes is larger than the update partition (' + o.target.capacity + ' bytes)', image);
      return;
    }
    try {
      o.target.begin(image);
    } catch (error) {
      this.fail_('cannot start writing the image: ' + describeError(error), image);
      return;
    }
    this.phase_ = 'downloading';
    this.requestId_++;
    this.offset_ = 0;
    this.chunk_ = 0;
    this.tries_ = 0;
    this.nextReport_ = 0;
    o.log.info('firmware ' + image.title + ' ' + image.version + ': downloading ' + image.size + ' bytes in chunks of ' + this.chunkBytes_);
    this.telemetry_({ fw_state: 'DOWNLOADING' });
    if (o.session.connected) this.request_();
  }

  /** Asks for the chunk at offset_ and arms its timeout. */
  private request_(): void {
    const o = this.o_;
    this.timer_ = clearTimer(o.clock, this.timer_);
    this.tries_++;
    this.timer_ = o.clock.setTimeout(this.onTimeout_, this.chunkTimeoutMs_);
    o.session.publish(T.FIRMWARE_REQUEST + this.requestId_ + T.CHUNK + this.chunk_, String(this.chunkBytes_), { qos: 1 }, this.onRequestSent_);
  }

  private readonly onRequestSent_ = (error?: Error): void => {
    // The timeout asks again; a refusal (offline queue full) is only worth a line.
    if (error) this.o_.log.warn('firmware chunk request not sent: ' + describeError(error));
  };

  private readonly onTimeout_ = (): void => {
    this.timer_ = undefined;
    if (this.phase_ !== 'downloading') return;
    if (this.tries_ >= this.attempts_) {
      this.fail_('timeout: no answer for chunk ' + this.chunk_ + ' after ' + this.tries_ + ' requests of ' + this.chunkTimeoutMs_ + ' ms', this.image_);
      return;
    }
    this.o_.log.warn('firmware chunk ' + this.chunk_ + ' not answered in ' + this.chunkTimeoutMs_ + ' ms; asking again');
    if (this.o_.session.connected) this.request_();
  };

  /** The session's 'message' listener (an arrow: no forwarding frame on the XS stack). */
  private readonly onMessage_ = (topic: string, payload: Uint8Array): void => {
    if (topic === T.FIRMWARE_ERROR) {
      if (this.phase_ === 'downloading') this.fail_('server error: ' + utf8Decode(payload.subarray(0, 200)), this.image_);
      return;
    }
    if (topic.slice(0, T.FIRMWARE_RESPONSE.length) !== T.FIRMWARE_RESPONSE) return;
    const rest = topic.slice(T.FIRMWARE_RESPONSE.length);
    const at = rest.indexOf(T.CHUNK);
    // Answers to an earlier request id (a replaced download) or an earlier chunk (asked twice) are late copies.
    if (this.phase_ !== 'downloading' || at < 0 || rest.slice(0, at) !== String(this.requestId_) || rest.slice(at + T.CHUNK.length) !== String(this.chunk_)) {
      this.o_.log.debug('firmware response on ' + topic + ' not awaited, ignored');
      return;
    }
    this.onChunk_(payload);
  };

  private onChunk_(bytes: Uint8Array): void {
    const o = this.o_;
    const image = this.image_ as FirmwareImage;
    const expected = Math.min(this.chunkBytes_, image.size - this.offset_);
    if (bytes.length !== expected) {
      this.fail_(
        bytes.length === 0
          ? 'the server has no data from byte ' + this.offset_ + ' on: the image is shorter than fw_size ' + image.size
          : 'chunk ' + this.chunk_ + ' has ' + bytes.length + ' bytes, expected ' + expected,
        image,
      );
      return;
    }
    try {
      o.target.write(bytes);
    } catch (error) {
      this.fail_('cannot write the image at byte ' + this.offset_ + ': ' + describeError(error), image);
      return;
    }
    this.offset_ += bytes.length;
    this.chunk_++;
    this.tries_ = 0;
    if (this.offset_ >= this.nextReport_) {
      o.log.info('firmware ' + image.version + ': ' + Math.floor((this.offset_ * 100) / image.size) + ' % (' + this.offset_ + ' of ' + image.size + ' bytes)');
      this.nextReport_ += Math.ceil(image.size / 10);
    }
    if (this.offset_ < image.size) {
      this.request_();
      return;
    }
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
    if (this.closed_ || this.phase_ !== 'installing') return;
    const o = this.o_;
    const image = this.image_ as FirmwareImage;
    this.phase_ = 'restarting';
    o.store.set(PENDING_KEY, { title: image.title, version: image.version });
    o.log.info('firmware ' + image.title + ' ' + image.version + ' installed; restarting');
    // UPDATING should reach the server before the restart cuts the connection: its PUBACK, or
    // restartWaitMs at most.
    let done = false;
    const restart = (): void => {
      if (done || this.closed_) return;
      done = true;
      this.timer_ = clearTimer(o.clock, this.timer_);
      o.target.restart();
    };
    this.timer_ = o.clock.setTimeout(restart, o.restartWaitMs ?? 5000);
    this.lastTelemetry_.then(restart, restart);
  };

  private readonly onInstallFailed_ = (error: unknown): void => {
    if (this.closed_ || this.phase_ !== 'installing') return;
    this.fail_(describeError(error), this.image_);
  };

  // ---- endings ----

  /** The download stops without a report (the server withdrew it). */
  private cancel_(why: string): void {
    this.o_.log.info('firmware download of ' + (this.image_ as FirmwareImage).version + ' stopped: ' + why);
    this.timer_ = clearTimer(this.o_.clock, this.timer_);
    this.o_.target.abort();
    this.phase_ = 'idle';
    this.image_ = undefined;
  }

  private fail_(why: string, image: FirmwareImage | undefined): void {
    const o = this.o_;
    this.timer_ = clearTimer(o.clock, this.timer_);
    if (this.phase_ === 'downloading' || this.phase_ === 'installing') o.target.abort();
    this.phase_ = 'idle';
    this.error_ = why;
    if (image) this.failedKey_ = imageKey(image);
    o.log.error('firmware update failed: ' + why);
    this.telemetry_({ fw_state: 'FAILED', fw_error: why });
  }

  /**
   * With a time stamp one past the last one at least: states sent in one turn (VERIFIED, UPDATING)
   * must not share a ts, under which the server would keep only the last.
   */
  private telemetry_(values: JsonObject): void {
    const now = this.o_.clock.now();
    const ts = now > this.lastTs_ ? now : this.lastTs_ + 1;
    this.lastTs_ = ts;
    this.lastTelemetry_ = this.o_.device.sendTelemetry({ ts, values }).then(undefined, (error: unknown) => {
      this.o_.log.warn('firmware state not sent: ' + describeError(error));
    });
  }
}

/** The image the fw_* attributes describe, or what is wrong with them. */
function readImage(a: { [key: string]: JsonValue }): FirmwareImage | string {
  const title = a.fw_title;
  const version = a.fw_version;
  const size = a.fw_size;
  const algorithm = a.fw_checksum_algorithm;
  const checksum = a.fw_checksum;
  if (!isNonEmptyString(title)) return 'fw_title missing';
  // A version may be stored as a number when it looks like one (ThingsBoard casts attribute strings).
  const v = typeof version === 'number' ? String(version) : version;
  if (!isNonEmptyString(v)) return 'fw_version missing';
  if (!isIntegerIn(size, 1)) return 'fw_size is not a positive integer: ' + String(size);
  if (!isNonEmptyString(algorithm)) return 'fw_checksum_algorithm missing';
  if (!isNonEmptyString(checksum)) return 'fw_checksum missing';
  return { title, version: v, size, checksumAlgorithm: algorithm.toUpperCase(), checksum: checksum.toLowerCase() };
}
