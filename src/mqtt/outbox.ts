import { MqttError } from './errors';

export type Done = (error?: MqttError) => void;

export interface OutgoingPublish {
  bytes: Uint8Array;
  /** Where the packet id goes (QoS 1); 0 for QoS 0. */
  idOffset: number;
  qos: 0 | 1;
  /** Packet id once sent (QoS 1); 0 while queued. */
  id: number;
  done: Done | undefined;
  /** When it was last written (QoS 1), for the PUBACK timeout. */
  sentAt?: number;
  /** Not sent after this clock time (PublishOptions.expiresAt). */
  expiresAt?: number;
  /** PublishOptions.pace, for the session's pacer. */
  pace: number;
}

export interface OutboxLimits {
  /** Messages waiting to be sent (offline, or behind a full in-flight window). */
  maxQueuedMessages: number;
  /** Bytes of encoded packets waiting to be sent. */
  maxQueuedBytes: number;
  /** QoS 1 publishes sent but not yet acknowledged. */
  maxInflight: number;
}

/**
 * The publishes not yet acknowledged: a bounded FIFO of messages not yet sent, and the in-flight
 * QoS 1 messages in the order they were first sent (a Map keeps insertion order, which is the
 * order resends must follow [MQTT-4.6.0-1]).
 *
 * Overflow policy: a publish that does not fit the queue's message or byte cap is refused at once
 * with 'queue-full'; nothing already accepted is ever dropped to make room.
 */
export class Outbox {
  private readonly queue_: OutgoingPublish[] = [];
  private queueHead_ = 0;
  private queuedBytes_ = 0;
  readonly inflight = new Map<number, OutgoingPublish>();

  constructor(readonly limits: OutboxLimits) {
    if (!(limits.maxQueuedMessages >= 1) || !(limits.maxQueuedBytes >= 1) || !(limits.maxInflight >= 1)) {
      throw new RangeError('outbox limits must be at least 1: ' + JSON.stringify(limits));
    }
    if (limits.maxInflight > 65535) throw new RangeError('maxInflight must be at most 65535 (packet ids)');
  }

  /** Adds a message to the back of the queue, or explains why it cannot be kept. */
  enqueue(message: OutgoingPublish): MqttError | undefined {
    const count = this.queue_.length - this.queueHead_;
    const limits = this.limits;
    if (count >= limits.maxQueuedMessages || this.queuedBytes_ + message.bytes.length > limits.maxQueuedBytes) {
      return new MqttError(
        'queue-full',
        'publish of ' + message.bytes.length + ' bytes refused: the send queue holds ' + count + ' of ' + limits.maxQueuedMessages +
          ' messages and ' + this.queuedBytes_ + ' of ' + limits.maxQueuedBytes + ' bytes',
      );
    }
    this.queue_.push(message);
    this.queuedBytes_ += message.bytes.length;
    return undefined;
  }

  /** The next message to send, if the in-flight window allows it; removed from the queue. */
  takeNext(): OutgoingPublish | undefined {
    if (this.queueHead_ >= this.queue_.length) return undefined;
    const head = this.queue_[this.queueHead_];
    if (head.qos === 1 && this.inflight.size >= this.limits.maxInflight) return undefined;
    this.queue_[this.queueHead_] = undefined as unknown as OutgoingPublish;
    this.queueHead_++;
    this.queuedBytes_ -= head.bytes.length;
    if (this.queueHead_ === this.queue_.length) {
      this.queue_.length = 0;
      this.queueHead_ = 0;
    } else if (this.queueHead_ >= 32 && this.queueHead_ * 2 >= this.queue_.length) {
      // Compact now and then so the array does not keep a long run of empty slots.
      this.queue_.splice(0, this.queueHead_);
      this.queueHead_ = 0;
    }
    return head;
  }

  /**
   * Puts a message back at the head of the queue: one the pacer holds back, or one that must go
   * before what is queued (PublishOptions.first). Caps are checked by enqueue(), not here: a held
   * message was accepted already, and a `first` one is checked by the caller.
   */
  putFirst(message: OutgoingPublish): void {
    if (this.queueHead_ > 0) this.queue_[--this.queueHead_] = message;
    else this.queue_.unshift(message);
    this.queuedBytes_ += message.bytes.length;
  }

  /** Moves the message enqueue() just added to the head of the queue. */
  moveLastFirst(): void {
    const last = this.queue_.pop();
    if (!last) return;
    this.queuedBytes_ -= last.bytes.length;
    this.putFirst(last);
  }

  /**
   * Moves every in-flight message back to the head of the queue, oldest first, handing each to
   * `each` first (its id is still set): on a new connection they are sent again through the
   * pacer, with new ids (the session is clean, so the server holds no state for the old ones).
   */
  requeueInflight(each: (message: OutgoingPublish) => void): void {
    if (this.inflight.size === 0) return;
    const messages = Array.from(this.inflight.values());
    this.inflight.clear();
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i];
      each(m);
      m.id = 0;
      this.putFirst(m);
    }
  }

  /** Removes and returns the in-flight message with this id (PUBACK), if any. */
  acknowledge(id: number): OutgoingPublish | undefined {
    const message = this.inflight.get(id);
    if (message) this.inflight.delete(id);
    return message;
  }

  /** Empties everything, handing each message to `each` (used on close). */
  drain(each: (message: OutgoingPublish) => void): void {
    const inflight = Array.from(this.inflight.values());
    this.inflight.clear();
    const queued = this.queue_.slice(this.queueHead_);
    this.queue_.length = 0;
    this.queueHead_ = 0;
    this.queuedBytes_ = 0;
    for (const m of inflight) each(m);
    for (const m of queued) each(m);
  }

  get queuedCount(): number {
    return this.queue_.length - this.queueHead_;
  }

  get queuedByteCount(): number {
    return this.queuedBytes_;
  }
}
