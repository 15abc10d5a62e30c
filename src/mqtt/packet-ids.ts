/**
 * Packet identifiers 1..65535: never 0 [MQTT-2.3.1-1], never one still in use by an
 * unacknowledged PUBLISH, SUBSCRIBE or UNSUBSCRIBE [MQTT-2.3.1-2]. Wraps from 65535 to 1.
 */
export class PacketIdAllocator {
  private next = 1;
  private readonly used = new Set<number>();

  /** A free id, or 0 when all 65535 are in use (the caller's in-flight cap keeps that away). */
  allocate(): number {
    if (this.used.size >= 65535) return 0;
    for (;;) {
      const id = this.next;
      this.next = id === 65535 ? 1 : id + 1;
      if (!this.used.has(id)) {
        this.used.add(id);
        return id;
      }
    }
  }

  release(id: number): void {
    this.used.delete(id);
  }

  inUse(id: number): boolean {
    return this.used.has(id);
  }

  get size(): number {
    return this.used.size;
  }

  /** Forgets every id (after a clean-session reconnect nothing survives but what we resend). */
  clear(): void {
    this.used.clear();
  }
}
