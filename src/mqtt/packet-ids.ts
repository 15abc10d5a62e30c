/**
 * Packet identifiers 1..65535: never 0 [MQTT-2.3.1-1], never one still in use by an
 * unacknowledged PUBLISH, SUBSCRIBE or UNSUBSCRIBE [MQTT-2.3.1-2]. Wraps from 65535 to 1.
 */
export class PacketIdAllocator {
  private next_ = 1;
  private readonly used_ = new Set<number>();

  /** A free id, or 0 when all 65535 are in use (the caller's in-flight cap keeps that away). */
  allocate(): number {
    if (this.used_.size >= 65535) return 0;
    for (;;) {
      const id = this.next_;
      this.next_ = id === 65535 ? 1 : id + 1;
      if (!this.used_.has(id)) {
        this.used_.add(id);
        return id;
      }
    }
  }

  release(id: number): void {
    this.used_.delete(id);
  }

  inUse(id: number): boolean {
    return this.used_.has(id);
  }

  get size(): number {
    return this.used_.size;
  }

  /** Forgets every id (after a clean-session reconnect nothing survives but what we resend). */
  clear(): void {
    this.used_.clear();
  }
}
