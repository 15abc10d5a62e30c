import { clearTimer, type Clock, type TimerHandle } from '../platform/clock';
import { Emitter } from '../platform/emitter';
import { describeError } from '../platform/errors';
import type { Log } from '../platform/log';
import { silentLog } from '../platform/log';
import type { Connector, Socket, SocketHandlers, TlsOptions } from '../platform/socket';
import { Backoff, RECONNECT_DEFAULTS, type BackoffOptions } from './backoff';
import type { MqttCodec, PacketParser, Will } from './codec-types';
import { bodyOffset, decodeFrame, type Inbound } from './decode';
import { connackRefusal, invalidArgument, isCredentialRefusal, MqttError } from './errors';
import { Framer } from './framer';
import { Keepalive, type KeepaliveCallbacks } from './keepalive';
import { mqttPacketCodec } from './mqtt-packet-codec';
import { Outbox, type Done, type OutgoingPublish } from './outbox';
import { PacketIdAllocator } from './packet-ids';
import type { PublishPacer } from './pacer';
import { encodePingreq, encodePuback, encodePubcomp, encodePublish, setDup, setPacketId } from './publish-encoder';
import { checkTopicFilter, checkTopicName } from './topic-rules';
import { isIntegerIn, isNonEmptyString, isPromiseLike, isString } from '../platform/guards';
import { utf8Decode } from '../platform/utf8';

export interface MqttSessionOptions {
  connector: Connector;
  clock: Clock;
  log?: Log;
  /** Source of randomness for backoff jitter (0 <= x < 1). */
  random?: () => number;
  /** Packet codec; default mqtt-packet's (see codec-types.ts). */
  codec?: MqttCodec;

  host: string;
  port: number;
  tls?: TlsOptions;

  clientId: string;
  username?: string;
  password?: string;
  /** Seconds; 0 turns keepalive off. Default 60. */
  keepaliveSeconds?: number;
  will?: Will;

  /** Time for the TCP (and TLS) connection to open. Default 10 s. */
  connectTimeoutMs?: number;
  /** Time for the CONNACK after CONNECT was sent. Default 10 s. */
  connackTimeoutMs?: number;
  /** Reconnect backoff. Default 1 s doubling to 60 s, jitter 0.5. */
  reconnect?: Partial<BackoffOptions>;
  /** Backoff after CONNACK 1, 2, 4 or 5 (credentials or configuration): default 2 min doubling to 30 min. */
  refusedBackoff?: Partial<BackoffOptions>;
  /** A connection that lived this long resets the backoff when it drops. Default 30 s. */
  stableMs?: number;
  /**
   * A QoS 1 publish without PUBACK for this long, on a connection that otherwise answers, makes the
   * session reconnect, which resends it with DUP (MQTT 3.1.1 resends only on a new connection
   * [MQTT-4.4.0-1]). 0 turns it off. Default 30 s.
   */
  ackTimeoutMs?: number;

  /** Largest packet accepted from or sent to the server, headers included. Default 65536 (ThingsBoard's cap). */
  maxPacketBytes?: number;
  /** Messages waiting to be sent. Default 32. */
  maxQueuedMessages?: number;
  /** Bytes waiting to be sent. Default 16 KiB. */
  maxQueuedBytes?: number;
  /** QoS 1 publishes awaiting PUBACK. Default 8. */
  maxInflight?: number;
  /** Distinct subscriptions kept for restore. Default 16. */
  maxSubscriptions?: number;
  /**
   * Inbound messages (QoS 0 and 1) whose handler promises have not settled, across reconnects; more
   * are refused (QoS 1: no PUBACK) or dropped (QoS 0) until some settle. Also the most messages
   * waiting for the delivery job: past that the session stops cutting packets out of what the
   * socket brought (held, never dropped) until the job has run them. Default 16.
   */
  maxPendingInbound?: number;
}

export type SessionState = 'idle' | 'connecting' | 'handshake' | 'connected' | 'waiting' | 'closed';

export interface PublishOptions {
  qos?: 0 | 1 | 2;
  retain?: boolean;
  /**
   * Clock time (Clock.now()) after which the message, if it is still waiting to be sent (offline,
   * or behind a full in-flight window), is not sent: it completes with an 'expired' error. For
   * requests whose answer nobody waits for any more (a timed-out attribute request must not go out
   * on the next connection, where its reused id could match a newer request).
   */
  expiresAt?: number;
  /** Handed to the pacer (setPacer) when the publish is about to be sent; default 0. */
  pace?: number;
  /** Goes before the publishes already queued (a control request that must not wait behind data). */
  first?: boolean;
}

export interface MessageInfo {
  qos: 0 | 1;
  dup: boolean;
  retain: boolean;
}

/**
 * What a message listener returns: `false` refuses the message (no PUBACK), a promise delays the
 * PUBACK until it settles (rejected: no PUBACK), anything else accepts it.
 */
export type MessageListener = (topic: string, payload: Uint8Array, info: MessageInfo) => unknown;

export interface MqttSessionEvents {
  /** CONNACK 0 arrived; subscriptions and unacknowledged publishes are being restored. */
  connect: (info: { sessionPresent: boolean }) => void;
  /** An established connection ended; the session reconnects by itself unless closed. */
  disconnect: (reason: MqttError) => void;
  /** Every failure: connection errors, refusals, protocol violations, publish errors without a callback. */
  error: (error: MqttError) => void;
  message: MessageListener;
  /** The session schedules its next connection attempt. */
  reconnecting: (info: { delayMs: number; attempt: number }) => void;
}

interface Subscription {
  qos: 0 | 1;
  /** Packet id of the SUBSCRIBE awaiting its SUBACK, 0 when none. */
  id: number;
  waiters: Done[];
  /** The SUBSCRIBE, encoded on its first send; each send copies it with its own id. */
  packet: Uint8Array | undefined;
}

/** The session's side of its connections' socket callbacks. */
interface ConnectionOwner {
  socketOpened(conn: Connection): void;
  socketData(conn: Connection, bytes: Uint8Array): void;
  socketDrained(conn: Connection): void;
  socketClosed(conn: Connection, reason: Error | undefined): void;
}

/**
 * One attempt at a connection, and its socket's handlers; callbacks from an older one are ignored.
 * Methods of a class, not four closures per attempt: once preloaded the methods are in flash, and
 * on XS each closure is about 11 heap slots (measured on xsnap).
 */
class Connection implements SocketHandlers {
  socket: Socket | undefined = undefined;

  constructor(
    private readonly owner_: ConnectionOwner,
    readonly framer: Framer,
    readonly parser: PacketParser,
  ) {}

  onConnect(): void {
    this.owner_.socketOpened(this);
  }

  onData(bytes: Uint8Array): void {
    this.owner_.socketData(this, bytes);
  }

  onDrain(): void {
    this.owner_.socketDrained(this);
  }

  onClose(reason?: Error): void {
    this.owner_.socketClosed(this, reason);
  }
}

/** The keepalive's calls into its session: methods of a class for the reason Connection gives. */
class KeepaliveHooks implements KeepaliveCallbacks {
  constructor(private readonly owner_: { keepalivePing(): void; keepaliveTimeout(): void }) {}

  ping(): void {
    this.owner_.keepalivePing();
  }

  timeout(): void {
    this.owner_.keepaliveTimeout();
  }
}

/**
 * Something that arrived and waits for its listeners: a PUBLISH, or (topic undefined) the
 * connection's CONNACK, whose 'connect' event must reach the listeners before the messages that
 * follow it. It doubles as the MessageInfo handed to 'message' listeners.
 */
interface Delivery extends MessageInfo {
  conn: Connection;
  topic: string | undefined;
  payload: Uint8Array | undefined;
  id: number;
  /** CONNACK only. */
  sessionPresent: boolean;
}

/** The option values the session falls back to (sized for an ESP32; ThingsBoard's packet cap). */
const DEFAULTS = Object.freeze({
  keepaliveSeconds: 60,
  connectTimeoutMs: 10_000,
  connackTimeoutMs: 10_000,
  stableMs: 30_000,
  ackTimeoutMs: 30_000,
  maxPacketBytes: 65536,
  maxQueuedMessages: 32,
  maxQueuedBytes: 16384,
  maxInflight: 8,
  maxSubscriptions: 16,
  maxPendingInbound: 16,
});

type ResolvedOptions = MqttSessionOptions & typeof DEFAULTS;

/**
 * MQTT 3.1.1 client session for ThingsBoard: clean session always (ThingsBoard keeps no state even
 * when CONNACK says it does), QoS 0 and 1, automatic reconnect, in-flight resend with DUP, bounded
 * offline queue, subscription restore, keepalive watchdog.
 *
 * Three short stacks instead of one tall one. A Moddable device has a 384-slot XS stack unless
 * its manifest says otherwise, and one that overflows it is dead; decoding a PUBLISH, running the
 * handler, encoding its reply and writing it, all in the socket's read callback, needs more than
 * that. So:
 * - the socket callbacks only cut, check and decode packets, and queue what arrived (a Delivery);
 * - listeners ('message', 'connect') run in a promise job of their own (deliver), where the
 *   handler and anything it publishes start from an empty stack;
 * - publish(), subscribe() and the timers only queue bytes; they reach the socket in flush_(),
 *   which runs at the end of a socket callback or of the delivery job, or in a job of its own.
 * Promise jobs run from Moddable's event loop on the device and the simulator (fxQueuePromiseJobs
 * in xs/platforms/esp/xsHost.c and lin_xs.c), i.e. with the callback's stack unwound.
 */
export class MqttSession implements ConnectionOwner {
  readonly events = new Emitter<MqttSessionEvents>();
  private readonly opts_: ResolvedOptions;
  /** "host:port", for messages. */
  private readonly where_: string;
  private readonly log_: Log;
  private readonly clock_: Clock;
  private readonly outbox_: Outbox;
  private readonly ids_ = new PacketIdAllocator();
  private readonly subscriptions_ = new Map<string, Subscription>();
  private readonly subscribeIds_ = new Map<number, string>();
  private readonly unsubscribeWaiters_ = new Map<number, Done | undefined>();
  private readonly backoff_: Backoff;
  private readonly refusedBackoff_: Backoff;
  private readonly keepalive_: Keepalive;
  private readonly codec_: MqttCodec;
  /**
   * CONNECT and SUBSCRIBE are encoded once, from a shallow stack: CONNECT on the first connection
   * attempt (start() runs from a job, reconnects from a timer), each SUBSCRIBE on its first send
   * (from the delivery job after CONNACK). mqtt-packet's generate() runs 10 to 12 frames deep: on
   * a CONNACK socket callback, or under openDevice() building the session, that overflowed the
   * device's stack (test/xs/xs-stack.test.ts at 288 slots, 75% of the manifest's 384).
   */
  private connectPacket_: Uint8Array | undefined;
  /** Resolved with this session: each flush or delivery job is a then() on it. */
  private readonly resolved_: Promise<MqttSession> = Promise.resolve(this);
  /** The last topic name that passed checkTopicName (never ''; none yet: undefined). */
  private checkedTopic_: string | undefined = undefined;
  /** A QoS 2 acknowledgement was logged (noteQos2_). */
  private qos2Noted_ = false;

  private stateValue_: SessionState = 'idle';
  private conn_: Connection | undefined;
  private writable_ = true;
  private handshakeTimer_: TimerHandle | undefined;
  private reconnectTimer_: TimerHandle | undefined;
  private ackTimer_: TimerHandle | undefined;
  private pacer_: PublishPacer | undefined = undefined;
  /** Wakes pump_ when the pacer's delay is over. */
  private paceTimer_: TimerHandle | undefined;
  private connectedAt_ = 0;
  /** Inbound messages whose handler promises have not settled. */
  private pendingInbound_ = 0;
  /** What arrived, in order, for deliver() (at most maxPendingInbound messages, plus one connect). */
  private readonly inbox_: Delivery[] = [];
  private deliverQueued_ = false;
  /** Control packets and resends for the current connection, in order, for flush_. */
  private readonly wire_: Uint8Array[] = [];
  private flushQueued_ = false;

  constructor(options: MqttSessionOptions) {
    if (!options || typeof options !== 'object') throw invalidArgument('MQTT session options: missing');
    const o = { ...DEFAULTS } as ResolvedOptions;
    // Only the options given override a default: an explicit undefined must not erase one.
    const given = options as unknown as Record<string, unknown>;
    for (const key of Object.keys(given)) if (given[key] !== undefined) (o as unknown as Record<string, unknown>)[key] = given[key];
    checkOptions(o);
    this.opts_ = o;
    this.where_ = o.host + ':' + o.port;
    this.log_ = o.log ?? silentLog;
    this.clock_ = o.clock;
    this.codec_ = o.codec ?? mqttPacketCodec;
    // Its own limits object: setMaxInflight() changes the window, never the options.
    this.outbox_ = new Outbox({ maxQueuedMessages: o.maxQueuedMessages, maxQueuedBytes: o.maxQueuedBytes, maxInflight: o.maxInflight });

    const random = o.random ?? Math.random;
    this.backoff_ = new Backoff({ ...RECONNECT_DEFAULTS, ...o.reconnect }, random);
    this.refusedBackoff_ = new Backoff({ initialMs: 120_000, maxMs: 1_800_000, jitter: 0.2, ...o.refusedBackoff }, random);
    this.keepalive_ = new Keepalive(this.clock_, o.keepaliveSeconds * 1000, new KeepaliveHooks(this));
  }

  /** @internal (KeepaliveHooks) */
  keepalivePing(): void {
    this.send_(encodePingreq());
  }

  /** @internal (KeepaliveHooks) */
  keepaliveTimeout(): void {
    const s = this.opts_.keepaliveSeconds * 1.5;
    this.drop_(new MqttError('keepalive-timeout', 'nothing received for 1.5 x keepalive (' + s + ' s): the link is dead'));
  }

  get state(): SessionState {
    return this.stateValue_;
  }

  get connected(): boolean {
    return this.stateValue_ === 'connected';
  }

  /**
   * Sets (or, with undefined, removes) the pacer every publish passes just before it is sent. With
   * a pacer, unacknowledged publishes are resent on a new connection through it too, with new ids.
   */
  setPacer(pacer: PublishPacer | undefined): void {
    this.pacer_ = pacer;
    // A wait the pacer asked for before (a hold for its limits, say) may be over now: ask again.
    this.paceTimer_ = clearTimer(this.clock_, this.paceTimer_);
    this.queueFlush_();
  }

  /**
   * Caps the in-flight window below the configured maxInflight (a server's limit); a figure at or
   * over it, or below 1, restores the configured one.
   */
  setMaxInflight(limit: number): void {
    const configured = this.opts_.maxInflight;
    this.outbox_.limits.maxInflight = Number.isInteger(limit) && limit >= 1 && limit < configured ? limit : configured;
  }

  get maxInflight(): number {
    return this.outbox_.limits.maxInflight;
  }

  /** The largest packet accepted from the server (MqttSessionOptions.maxPacketBytes). */
  get maxPacketBytes(): number {
    return this.opts_.maxPacketBytes;
  }

  /** Sizes of the bounded stores, for tests and diagnostics. */
  get stats(): { queued: number; queuedBytes: number; inflight: number; subscriptions: number; pendingInbound: number } {
    return {
      queued: this.outbox_.queuedCount,
      queuedBytes: this.outbox_.queuedByteCount,
      inflight: this.outbox_.inflight.size,
      subscriptions: this.subscriptions_.size,
      pendingInbound: this.pendingInbound_,
    };
  }

  /** Opens the first connection; later ones happen by themselves. */
  start(): void {
    if (this.stateValue_ !== 'idle') return;
    this.connectNow_();
  }

  /**
   * Publishes. QoS 1 completes on PUBACK, QoS 0 once written to the socket. Errors go to `done`, or
   * to the 'error' event when there is no `done`. Returns false when the publish was refused at once.
   */
  publish(topic: string, payload: string | Uint8Array, options?: PublishOptions, done?: Done): boolean {
    const qos = options?.qos ?? 0;
    const refusal = this.checkPublish_(topic, payload, qos);
    if (refusal) return this.fail_(refusal, done);
    const encoded = encodePublish(topic, payload, qos as 0 | 1, options?.retain === true);
    if (encoded.bytes.length > this.opts_.maxPacketBytes) {
      return this.fail_(
        new MqttError(
          'packet-too-large',
          'PUBLISH to ' + topic + ' is ' + encoded.bytes.length + ' bytes, over the ' + this.opts_.maxPacketBytes + '-byte cap',
        ),
        done,
      );
    }
    const message: OutgoingPublish = {
      bytes: encoded.bytes,
      idOffset: encoded.idOffset,
      qos: qos as 0 | 1,
      id: 0,
      done,
      expiresAt: options?.expiresAt,
      pace: options?.pace ?? 0,
    };
    const full = this.outbox_.enqueue(message);
    if (full) return this.fail_(full, done);
    if (options?.first === true) this.outbox_.moveLastFirst();
    this.queueFlush_();
    return true;
  }

  publishAsync(topic: string, payload: string | Uint8Array, options?: PublishOptions): Promise<void> {
    // promised() written out (no {promise, done} object: this runs for every telemetry message).
    // publish() is called after the executor returned, not inside it (see promised()).
    let done!: Done;
    const promise = new Promise<void>((resolve, reject) => {
      done = (error) => (error ? reject(error) : resolve());
    });
    this.publish(topic, payload, options, done);
    return promise;
  }

  /**
   * Subscribes now or on the next connection, and again after every reconnect. `done` gets the
   * first SUBACK's verdict ('subscribe-refused' for 0x80, after which the filter is not restored).
   */
  subscribe(filter: string, qos: 0 | 1 | 2 = 1, done?: Done): boolean {
    if (this.stateValue_ === 'closed') return this.fail_(new MqttError('closed', 'subscribe on a closed session'), done);
    const bad = checkTopicFilter(filter);
    if (bad) return this.fail_(bad, done);
    if (qos !== 0 && qos !== 1) {
      return this.fail_(new MqttError('qos-unsupported', 'subscribe with QoS ' + qos + ': ThingsBoard supports QoS 0 and 1 only'), done);
    }
    let entry = this.subscriptions_.get(filter);
    if (!entry) {
      if (this.subscriptions_.size >= this.opts_.maxSubscriptions) {
        return this.fail_(
          invalidArgument('too many subscriptions (cap ' + this.opts_.maxSubscriptions + ')'),
          done,
        );
      }
      entry = { qos, id: 0, waiters: [], packet: undefined };
      this.subscriptions_.set(filter, entry);
    } else if (entry.qos !== qos) entry.packet = undefined;
    entry.qos = qos;
    if (done) entry.waiters.push(done);
    if (this.connected) this.sendSubscribe_(filter, entry);
    return true;
  }

  subscribeAsync(filter: string, qos: 0 | 1 = 1): Promise<void> {
    const p = promised();
    this.subscribe(filter, qos, p.done);
    return p.promise;
  }

  /** Stops restoring `filter`; when connected, also sends UNSUBSCRIBE and completes on UNSUBACK. */
  unsubscribe(filter: string, done?: Done): void {
    const entry = this.subscriptions_.get(filter);
    if (entry) {
      this.subscriptions_.delete(filter);
      if (entry.id) {
        this.subscribeIds_.delete(entry.id);
        this.ids_.release(entry.id);
      }
      failAll(entry.waiters, new MqttError('closed', 'unsubscribed from ' + filter + ' before its SUBACK'));
    }
    if (!this.connected) {
      if (done) done();
      return;
    }
    const id = this.ids_.allocate();
    this.unsubscribeWaiters_.set(id, done);
    this.send_(this.codec_.encodeUnsubscribe(id, filter));
  }

  /**
   * Ends the session for good: DISCONNECT when connected, socket closed, every timer cleared.
   * Publishes not yet acknowledged complete with a 'closed' error.
   */
  close(): void {
    if (this.stateValue_ === 'closed') return;
    const wasConnected = this.connected;
    if (wasConnected) {
      // What was queued for this connection goes first, then DISCONNECT, before the socket closes.
      this.flush_();
      this.wire_.push(this.codec_.encodeDisconnect());
      this.writeWire_();
    }
    this.stateValue_ = 'closed';
    this.teardown_();
    this.reconnectTimer_ = clearTimer(this.clock_, this.reconnectTimer_);
    const closed = new MqttError('closed', 'the MQTT session was closed');
    this.outbox_.drain((m) => m.done && m.done(closed));
    for (const entry of this.subscriptions_.values()) failAll(entry.waiters, closed);
    this.subscriptions_.clear();
    this.subscribeIds_.clear();
    for (const done of this.unsubscribeWaiters_.values()) if (done) done();
    this.unsubscribeWaiters_.clear();
    this.ids_.clear();
    this.inbox_.length = 0;
    if (wasConnected) this.events.emit('disconnect', closed);
  }

  // ---- connection life cycle ----

  private connectNow_(): void {
    this.reconnectTimer_ = undefined;
    if (!this.connectPacket_) {
      const o = this.opts_;
      try {
        // ThingsBoard keeps no session state, so always ask for a clean one and restore ourselves.
        this.connectPacket_ = this.codec_.encodeConnect({
          clientId: o.clientId,
          username: o.username,
          password: o.password,
          keepaliveSeconds: o.keepaliveSeconds,
          cleanSession: true,
          will: o.will,
        });
      } catch (error) {
        // Bad options (a will mqtt-packet refuses): no attempt can succeed, so say so and stop
        // rather than throw from a job or a timer.
        this.events.emit('error', invalidArgument('MQTT session options: cannot encode CONNECT: ' + describeError(error)));
        this.close();
        return;
      }
    }
    this.stateValue_ = 'connecting';
    const conn = new Connection(this, new Framer(this.opts_.maxPacketBytes), this.codec_.createParser());
    this.conn_ = conn;
    this.writable_ = true;
    this.handshakeTimer_ = this.clock_.setTimeout(
      () => this.drop_(new MqttError('connect-timeout', 'no connection to ' + this.where_ + ' within ' + this.opts_.connectTimeoutMs + ' ms')),
      this.opts_.connectTimeoutMs,
    );
    try {
      conn.socket = this.opts_.connector.connect({ host: this.opts_.host, port: this.opts_.port, tls: this.opts_.tls }, conn);
    } catch (error) {
      this.drop_(new MqttError('socket', 'cannot connect to ' + this.where_ + ': ' + describeError(error), undefined, error));
    }
  }

  // ---- socket callbacks (through Connection, whose methods call these; not for other callers) ----

  /** @internal */
  socketOpened(conn: Connection): void {
    if (this.conn_ !== conn) return;
    this.stateValue_ = 'handshake';
    this.handshakeTimer_ = clearTimer(this.clock_, this.handshakeTimer_);
    this.handshakeTimer_ = this.clock_.setTimeout(
      () => this.drop_(new MqttError('connack-timeout', 'no CONNACK within ' + this.opts_.connackTimeoutMs + ' ms')),
      this.opts_.connackTimeoutMs,
    );
    this.send_(this.connectPacket_ as Uint8Array);
    this.flush_();
  }

  /** @internal */
  socketDrained(conn: Connection): void {
    if (this.conn_ !== conn) return;
    this.writable_ = true;
    this.flush_();
  }

  /** @internal */
  socketClosed(conn: Connection, reason: Error | undefined): void {
    if (this.conn_ !== conn) return;
    this.drop_(new MqttError('socket', reason ? 'connection lost: ' + reason.message : 'the server closed the connection', undefined, reason));
  }

  /** @internal */
  socketData(conn: Connection, bytes: Uint8Array): void {
    if (this.conn_ !== conn) return;
    const framer = conn.framer;
    if (bytes.length === 4 && bytes[0] === 0x40 && bytes[1] === 2 && this.stateValue_ === 'connected' && framer.idle) {
      // A read that is one whole PUBACK, nothing before it: what a publishing device gets most.
      // Handled here, without the framer's and readFrames_'s calls (about 700 computrons on XS
      // through them, 250 here). Packet id 0 goes the long way, to be refused [MQTT-2.3.1-1].
      const id = (bytes[2] << 8) | bytes[3];
      if (id !== 0) {
        this.keepalive_.onReceived();
        this.onPuback_(id);
        // A slot in the in-flight window opened: queued publishes go now.
        if (this.wire_.length > 0 || this.outbox_.queuedCount > 0) this.flush_();
        return;
      }
    }
    // A read that is one whole packet skips feed() and readFrames_'s loop (Framer.whole).
    const whole = this.inbox_.length < this.opts_.maxPendingInbound ? framer.whole(bytes) : undefined;
    if (whole !== undefined) {
      this.onFrame_(conn, whole);
      if (this.conn_ === conn) this.flush_();
      return;
    }
    if (framer.unread > this.opts_.maxPacketBytes) {
      // Handlers are behind and the server keeps sending: more than a packet's worth is held.
      this.drop_(new MqttError('queue-full', 'inbound data arrives faster than the message handlers take it (' + framer.unread + ' bytes held)'));
      return;
    }
    framer.feed(bytes);
    if (this.readFrames_(conn)) this.flush_();
  }

  /**
   * Cuts and handles the packets the framer holds, until it is empty (true) or the delivery queue
   * is full: then the rest stays in the framer, copied, and the delivery job reads on.
   */
  private readFrames_(conn: Connection): boolean {
    const framer = conn.framer;
    for (;;) {
      if (this.inbox_.length >= this.opts_.maxPendingInbound) {
        framer.hold();
        return true;
      }
      if (this.stateValue_ === 'connected') {
        const id = framer.puback();
        if (id !== 0) {
          this.keepalive_.onReceived();
          this.onPuback_(id);
          continue;
        }
      }
      const frame = framer.next();
      if (frame === undefined) return true;
      if (frame instanceof MqttError) {
        this.drop_(frame);
        return false;
      }
      this.onFrame_(conn, frame);
      if (this.conn_ !== conn) return false;
    }
  }

  private onFrame_(conn: Connection, frame: Uint8Array): void {
    this.keepalive_.onReceived();
    const packet = decodeFrame(frame, conn.parser);
    if (packet instanceof MqttError) {
      this.drop_(packet);
      return;
    }
    if (this.stateValue_ === 'handshake') {
      if (packet.type !== 'connack') {
        // The first packet from the server must be CONNACK [MQTT-3.2.0-1].
        this.drop_(new MqttError('protocol', 'the server sent ' + packet.type.toUpperCase() + ' before CONNACK'));
        return;
      }
      this.onConnack_(packet.returnCode, packet.sessionPresent);
      return;
    }
    this.dispatch_(packet);
  }

  private dispatch_(packet: Inbound): void {
    switch (packet.type) {
      case 'connack':
        this.drop_(new MqttError('protocol', 'the server sent a second CONNACK'));
        return;
      case 'publish':
        this.onPublish_(packet.topic, packet.payload, packet.qos, packet.dup, packet.retain, packet.id);
        return;
      case 'puback':
        this.onPuback_(packet.id);
        return;
      case 'suback':
        this.onSuback_(packet.id, packet.granted);
        return;
      case 'unsuback': {
        if (!this.unsubscribeWaiters_.has(packet.id)) return;
        const done = this.unsubscribeWaiters_.get(packet.id);
        this.unsubscribeWaiters_.delete(packet.id);
        this.ids_.release(packet.id);
        if (done) done();
        return;
      }
      case 'pubrel':
        // A QoS 0/1 client holds no QoS 2 state, so no id is known; PUBCOMP is the answer the
        // flow allows [MQTT-4.3.3], and it costs the server nothing to be told.
        this.noteQos2_(packet.type, packet.id);
        this.send_(encodePubcomp(packet.id));
        return;
      case 'pubrec':
      case 'pubcomp':
        if (this.outbox_.inflight.has(packet.id)) {
          // The answer to a QoS 2 PUBLISH, for a QoS 1 one still waiting for its PUBACK.
          this.drop_(new MqttError('protocol', 'the server sent ' + packet.type.toUpperCase() + ' for QoS 1 packet ' + packet.id));
          return;
        }
        this.noteQos2_(packet.type, packet.id);
        return;
      case 'pingresp':
        return;
    }
  }

  /** QoS 2 acknowledgements for ids this client never used: harmless, logged once a session. */
  private noteQos2_(type: string, id: number): void {
    if (this.qos2Noted_) return;
    this.qos2Noted_ = true;
    this.log_.warn('the server sent ' + type.toUpperCase() + ' for packet id ' + id + ', which this QoS 0/1 client never used; ' + (type === 'pubrel' ? 'answered with PUBCOMP' : 'ignored') + ' (logged once)');
  }

  private onPuback_(id: number): void {
    const message = this.outbox_.acknowledge(id);
    if (!message) {
      // A repeated PUBACK (a duplicating link, or the server acking a resend twice) is harmless.
      this.log_.debug('PUBACK for unknown packet id ' + id + ' ignored');
      return;
    }
    this.ids_.release(id);
    if (message.done) message.done(); // socketData flushes (and pumps) once the chunk is read
  }

  private onConnack_(returnCode: number, sessionPresent: boolean): void {
    this.handshakeTimer_ = clearTimer(this.clock_, this.handshakeTimer_);
    if (returnCode !== 0) {
      this.drop_(connackRefusal(returnCode), isCredentialRefusal(returnCode));
      return;
    }
    if (sessionPresent) {
      // Every CONNECT asks for a clean session, so the server must say none is present
      // [MQTT-3.2.2-1]; one that claims a session would resend into ids this client reuses.
      this.drop_(new MqttError('protocol', 'CONNACK says a session is present, in answer to a clean-session CONNECT [MQTT-3.2.2-1]'));
      return;
    }
    this.stateValue_ = 'connected';
    this.connectedAt_ = this.clock_.now();
    this.refusedBackoff_.reset();
    this.keepalive_.start();
    this.log_.info('connected to ' + this.where_);
    const pacer = this.pacer_;
    if (pacer) {
      // Through the pacer, at the head of the queue, DUP set, in their order: a burst of resends
      // is what trips a server's rate limit right after a reconnect.
      pacer.connected(this.connectedAt_);
      this.requeueInflight_();
    } else {
      // Unacknowledged publishes go first, same ids, DUP set, original order [MQTT-4.4.0-1].
      for (const message of this.outbox_.inflight.values()) {
        setDup(message.bytes);
        message.sentAt = this.clock_.now();
        this.send_(message.bytes);
      }
      this.armAckTimer_();
    }
    // The listeners run in the delivery job, before any message that came after this CONNACK.
    this.queueDelivery_({ conn: this.conn_ as Connection, topic: undefined, payload: undefined, qos: 0, dup: false, retain: false, id: 0, sessionPresent });
  }

  /**
   * One lazy timer for PUBACK timeouts: it wakes when the oldest in-flight publish is due and
   * re-arms for the next one, so a busy connection costs no timer per message.
   */
  private armAckTimer_(): void {
    if (this.ackTimer_ !== undefined || this.opts_.ackTimeoutMs <= 0 || !this.connected) return;
    const oldest = this.outbox_.inflight.values().next().value;
    if (!oldest) return;
    const due = (oldest.sentAt ?? 0) + this.opts_.ackTimeoutMs;
    this.ackTimer_ = this.clock_.setTimeout(() => {
      this.ackTimer_ = undefined;
      const first = this.outbox_.inflight.values().next().value;
      if (!this.connected || !first) return;
      if (this.clock_.now() - (first.sentAt ?? 0) >= this.opts_.ackTimeoutMs) {
        this.drop_(new MqttError('ack-timeout', 'no PUBACK for packet ' + first.id + ' within ' + this.opts_.ackTimeoutMs + ' ms; reconnecting to resend it'));
        return;
      }
      this.armAckTimer_();
    }, Math.max(0, due - this.clock_.now()));
  }

  /**
   * Ends the current connection attempt and schedules the next one. `refused` selects the long
   * backoff for credential or configuration refusals.
   */
  private drop_(reason: MqttError, refused = false): void {
    if (this.stateValue_ === 'closed' || !this.conn_) return;
    const wasConnected = this.connected;
    this.teardown_();
    this.stateValue_ = 'waiting';
    this.log_.warn(describeError(reason));
    if (wasConnected) this.events.emit('disconnect', reason);
    this.events.emit('error', reason);
    if (this.stateValue_ !== 'waiting') return; // a listener closed the session
    if (wasConnected && this.clock_.now() - this.connectedAt_ >= this.opts_.stableMs) this.backoff_.reset();
    const backoff = refused ? this.refusedBackoff_ : this.backoff_;
    const delayMs = backoff.next();
    this.events.emit('reconnecting', { delayMs, attempt: backoff.attempts });
    if (this.stateValue_ !== 'waiting') return;
    this.reconnectTimer_ = this.clock_.setTimeout(() => this.connectNow_(), delayMs);
  }

  /** Releases the connection: socket, timers, SUBSCRIBE/UNSUBSCRIBE waits (they restart on reconnect). */
  private teardown_(): void {
    const conn = this.conn_;
    this.conn_ = undefined;
    this.wire_.length = 0; // bytes for that connection; resends and subscriptions are redone on the next
    this.handshakeTimer_ = clearTimer(this.clock_, this.handshakeTimer_);
    this.keepalive_.stop();
    this.ackTimer_ = clearTimer(this.clock_, this.ackTimer_);
    this.paceTimer_ = clearTimer(this.clock_, this.paceTimer_);
    if (conn) {
      conn.framer.reset();
      if (conn.socket) conn.socket.close();
    }
    for (const id of this.subscribeIds_.keys()) this.ids_.release(id);
    this.subscribeIds_.clear();
    for (const entry of this.subscriptions_.values()) entry.id = 0;
    // The server forgets subscriptions with the connection, so a pending unsubscribe has succeeded.
    for (const [id, done] of this.unsubscribeWaiters_) {
      this.ids_.release(id);
      if (done) done();
    }
    this.unsubscribeWaiters_.clear();
  }

  // ---- sending ----

  /** Queues a packet for the current connection; flush_() writes it. */
  private send_(bytes: Uint8Array): void {
    if (!this.conn_?.socket) return;
    this.wire_.push(bytes);
    this.queueFlush_();
  }

  private queueFlush_(): void {
    if (this.flushQueued_) return;
    this.flushQueued_ = true;
    // The job is a module function and the session the value of a promise made once: no closure
    // per session (about 11 heap slots each on XS), and no Promise.resolve() per job (about 50
    // computrons on XS). MqttSession has no then(), so it resolves as itself.
    this.resolved_.then(flushJob);
  }

  /** @internal (flushJob) */
  flushJob(): void {
    this.flushQueued_ = false;
    this.flush_();
  }

  /** Writes the queued packets in order, then moves queued publishes onto the wire (pump_). */
  private flush_(): void {
    if (this.wire_.length > 0) this.writeWire_();
    this.pump_();
  }

  private writeWire_(): void {
    const wire = this.wire_;
    const now = this.clock_.now();
    for (let i = 0; i < wire.length; i++) {
      const socket = this.conn_?.socket;
      if (!socket) break; // a write failed and the connection is gone (teardown emptied wire_)
      this.keepalive_.onSent(now);
      if (!socket.write(wire[i])) this.writable_ = false;
    }
    wire.length = 0;
  }

  /** Moves queued publishes onto the wire while connected, writable and within the in-flight window. */
  private pump_(): void {
    let now = -1; // read once, when there is something to send
    while (this.stateValue_ === 'connected' && this.writable_) {
      const message = this.outbox_.takeNext();
      if (!message) return;
      if (now < 0) now = this.clock_.now();
      if (message.expiresAt !== undefined && now > message.expiresAt) {
        if (message.done) message.done(new MqttError('expired', 'publish to ' + topicOf(message.bytes) + ' not sent: it waited past its deadline'));
        continue;
      }
      if (this.pacer_ !== undefined && !this.paced_(message, now)) return;
      if (message.qos === 1) {
        const id = this.ids_.allocate();
        message.id = id;
        setPacketId(message.bytes, message.idOffset, id);
        message.sentAt = now;
        this.outbox_.inflight.set(id, message);
        this.write_(message.bytes, now);
        this.armAckTimer_();
      } else {
        this.write_(message.bytes, now);
        if (message.done) message.done();
      }
    }
  }

  /**
   * Asks the pacer about the queue's head (taken off already): false when it has to wait, and then
   * it is back at the head and a timer wakes the pump; a publish that can never fit fails.
   */
  private paced_(message: OutgoingPublish, now: number): boolean {
    const wait = (this.pacer_ as PublishPacer).delayMs(message.pace, now);
    if (wait <= 0) return true;
    if (wait === Infinity) {
      const error = new MqttError('over-limit', 'publish to ' + topicOf(message.bytes) + ' not sent: it is larger than the server\'s rate limit allows in any window');
      if (message.done) message.done(error);
      else this.events.emit('error', error);
      this.queueFlush_(); // the next one may fit
      return false;
    }
    this.outbox_.putFirst(message);
    if (this.paceTimer_ === undefined) {
      this.paceTimer_ = this.clock_.setTimeout(() => {
        this.paceTimer_ = undefined;
        this.flush_();
      }, wait);
    }
    return false;
  }

  /** The in-flight publishes go back to the queue's head for the pacer (see onConnack_). */
  private requeueInflight_(): void {
    const ids = this.ids_;
    this.outbox_.requeueInflight((message) => {
      ids.release(message.id);
      setDup(message.bytes);
    });
    this.queueFlush_();
  }

  private write_(bytes: Uint8Array, now: number): void {
    const socket = this.conn_?.socket;
    if (!socket) return;
    this.keepalive_.onSent(now);
    if (!socket.write(bytes)) this.writable_ = false;
  }

  private sendSubscribe_(filter: string, entry: Subscription): void {
    if (entry.id) {
      this.subscribeIds_.delete(entry.id);
      this.ids_.release(entry.id);
    }
    entry.id = this.ids_.allocate();
    this.subscribeIds_.set(entry.id, filter);
    const packet = entry.packet ?? (entry.packet = this.codec_.encodeSubscribe(1, filter, entry.qos));
    const bytes = packet.slice();
    setPacketId(bytes, bodyOffset(bytes), entry.id);
    this.send_(bytes);
  }

  /**
   * After CONNACK, from the delivery job rather than the CONNACK callback (see connectPacket_), and
   * a method of its own: its loop's locals would otherwise widen deliver's frame, which sits under
   * every message handler. An entry with an id was subscribed on this connection already.
   */
  private restoreSubscriptions_(): void {
    for (const [filter, entry] of this.subscriptions_) if (entry.id === 0) this.sendSubscribe_(filter, entry);
  }

  private onSuback_(id: number, granted: number[]): void {
    const filter = this.subscribeIds_.get(id);
    if (filter === undefined) return;
    this.subscribeIds_.delete(id);
    this.ids_.release(id);
    const entry = this.subscriptions_.get(filter);
    if (!entry) return;
    entry.id = 0;
    const waiters = entry.waiters;
    entry.waiters = [];
    if (granted[0] === 0x80) {
      // Not restored after reconnects: the server said no, and asking again will not change that.
      this.subscriptions_.delete(filter);
      const error = new MqttError('subscribe-refused', 'subscription refused: ' + filter + ' (SUBACK 0x80)');
      if (waiters.length === 0) this.events.emit('error', error);
      failAll(waiters, error);
      return;
    }
    for (const done of waiters) done();
  }

  // ---- receiving ----

  private onPublish_(topic: string, payload: Uint8Array, qos: 0 | 1, dup: boolean, retain: boolean, id: number): void {
    this.queueDelivery_({ conn: this.conn_ as Connection, topic, payload, qos, dup, retain, id, sessionPresent: false });
  }

  private queueDelivery_(delivery: Delivery): void {
    this.inbox_.push(delivery);
    if (this.deliverQueued_) return;
    this.deliverQueued_ = true;
    this.resolved_.then(deliverJob);
  }

  /**
   * The delivery job: runs the listeners of everything that arrived, in order, then flushes.
   * @internal (deliverJob)
   */
  deliver(): void {
    this.deliverQueued_ = false;
    const inbox = this.inbox_;
    while (inbox.length > 0 && this.stateValue_ !== 'closed') {
      const d = inbox.shift() as Delivery;
      if (d.topic !== undefined) this.deliverMessage_(d);
      // A CONNACK whose connection already ended says nothing any more: its 'disconnect' is out.
      else if (d.conn === this.conn_ && this.connected) {
        this.restoreSubscriptions_();
        this.events.emit('connect', { sessionPresent: d.sessionPresent });
      }
    }
    // Packets the socket brought while the queue was full wait in the framer: read on.
    const conn = this.conn_;
    if (conn && conn.framer.unread > 0 && !this.readFrames_(conn)) return;
    this.flush_();
  }

  private deliverMessage_(d: Delivery): void {
    if (this.pendingInbound_ >= this.opts_.maxPendingInbound) {
      // Handlers are behind: refuse rather than queue without bound. QoS 1 gets no PUBACK
      // (ThingsBoard never retransmits, so the sender sees a timeout; a standard broker resends
      // after reconnect); QoS 0 is dropped, which its delivery guarantee allows.
      this.events.emit(
        'error',
        new MqttError(
          'queue-full',
          'inbound QoS ' + d.qos + ' message on ' + d.topic + ' ' + (d.qos ? 'refused' : 'dropped') + ': ' + this.pendingInbound_ + ' handlers still running',
        ),
      );
      return;
    }
    let results: unknown[] | undefined;
    try {
      results = this.events.emit('message', d.topic as string, d.payload as Uint8Array, d);
    } catch (error) {
      this.events.emit('error', new MqttError('handler', 'message handler for ' + d.topic + ' threw: ' + describeError(error), undefined, error));
      return;
    }
    let refused = false;
    let waits: PromiseLike<unknown>[] | undefined;
    if (results) {
      for (let i = 0; i < results.length; i++) {
        const r = results[i];
        if (r === false) refused = true;
        else if (isPromiseLike(r)) (waits ?? (waits = [])).push(r);
      }
    }
    if (!waits) {
      // A PUBACK belongs to the connection the PUBLISH came on [MQTT-4.4.0-1]. Straight onto the
      // wire, not through send_: the delivery job ends with a flush, so no flush job is needed.
      if (d.qos === 1 && !refused && d.conn === this.conn_ && this.conn_.socket) this.wire_.push(encodePuback(d.id));
      return;
    }
    // Handler promises count against maxPendingInbound for QoS 0 too (an async handler per QoS 0
    // message could otherwise pile up without bound), and across reconnects: the count drops when
    // a handler settles, not when the connection ends, so handlers that never finish cannot add
    // maxPendingInbound more per reconnect. A rejection is reported, never left unhandled.
    this.pendingInbound_++;
    Promise.all(waits).then(
      (values) => {
        this.pendingInbound_--;
        if (d.qos === 1 && !refused && this.conn_ === d.conn && values.indexOf(false) < 0) this.send_(encodePuback(d.id));
      },
      (error: unknown) => {
        this.pendingInbound_--;
        if (this.stateValue_ === 'closed') return;
        this.events.emit('error', new MqttError('handler', 'message handler for ' + d.topic + ' failed: ' + describeError(error), undefined, error));
      },
    );
  }

  // ---- helpers ----

  private checkPublish_(topic: string, payload: string | Uint8Array, qos: number): MqttError | undefined {
    if (this.stateValue_ === 'closed') return new MqttError('closed', 'publish on a closed session');
    if (qos === 2) return new MqttError('qos-unsupported', 'QoS 2 unsupported: ThingsBoard accepts QoS 0 and 1 only');
    if (qos !== 0 && qos !== 1) return invalidArgument('QoS must be 0 or 1, got ' + String(qos));
    if (!isString(payload) && !(payload instanceof Uint8Array)) {
      return invalidArgument('payload must be a string or a Uint8Array');
    }
    // Most publishes go to the topic of the one before (telemetry): a string compare instead of
    // the rules (about 150 computrons on XS per publish).
    if (topic === this.checkedTopic_) return undefined;
    const bad = checkTopicName(topic);
    if (!bad) this.checkedTopic_ = topic;
    return bad;
  }

  private fail_(error: MqttError, done: Done | undefined): false {
    if (done) done(error);
    else this.events.emit('error', error);
    return false;
  }
}

// `return` makes each a tail call, which XS runs in the caller's frame: deliver() then starts at
// the same stack depth as before (it sits under every message handler).
function flushJob(session: MqttSession): void {
  return session.flushJob();
}

function deliverJob(session: MqttSession): void {
  return session.deliver();
}

/**
 * A promise and the Done callback that settles it. The operation is started by the caller after
 * this returns, not inside the Promise executor: the executor frame would sit under it on the stack.
 */
function promised(): { promise: Promise<void>; done: Done } {
  let done!: Done;
  const promise = new Promise<void>((resolve, reject) => {
    done = (error) => (error ? reject(error) : resolve());
  });
  return { promise, done };
}

/** The topic of an encoded PUBLISH, for messages. */
function topicOf(publish: Uint8Array): string {
  const at = bodyOffset(publish);
  return utf8Decode(publish, at + 2, at + 2 + ((publish[at] << 8) | publish[at + 1]));
}

function failAll(waiters: Done[], error: MqttError): void {
  const list = waiters.splice(0, waiters.length);
  for (const done of list) done(error);
}

function checkOptions(o: ResolvedOptions): void {
  const bad = (message: string) => {
    throw invalidArgument('MQTT session options: ' + message);
  };
  if (!o.connector || typeof o.connector.connect !== 'function') bad('connector is required');
  if (!o.clock || typeof o.clock.setTimeout !== 'function') bad('clock is required');
  if (!isNonEmptyString(o.host)) bad('host must be a non-empty string');
  if (!isIntegerIn(o.port, 1, 65535)) bad('port must be an integer 1..65535, got ' + String(o.port));
  if (!isString(o.clientId)) bad('clientId must be a string');
  // A password without a user name is not allowed in MQTT 3.1.1 [MQTT-3.1.2-22].
  if (o.password !== undefined && o.username === undefined) bad('a password needs a username');
  const ka = o.keepaliveSeconds;
  if (!isIntegerIn(ka, 0, 65535)) bad('keepaliveSeconds must be an integer 0..65535');
  const max = o.maxPacketBytes;
  if (!isIntegerIn(max, 64, 268_435_460)) bad('maxPacketBytes must be an integer 64..268435460');
}
