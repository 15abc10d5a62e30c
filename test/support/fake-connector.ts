import type { ConnectOptions, Connector, Socket, SocketHandlers } from '../../src/platform/socket';

/** One socket opened through FakeConnector: the test plays the server. */
export class FakeSocket implements Socket {
  readonly written: Uint8Array[] = [];
  closed = false;
  /** What write() returns: false simulates a full send buffer. */
  acceptMore = true;

  constructor(
    readonly options: ConnectOptions,
    readonly handlers: SocketHandlers,
  ) {}

  write(bytes: Uint8Array): boolean {
    this.written.push(Uint8Array.from(bytes));
    return this.acceptMore;
  }

  close(): void {
    this.closed = true;
  }

  // ---- server side ----
  open(): void {
    this.handlers.onConnect();
  }
  receive(bytes: Uint8Array | number[]): void {
    this.handlers.onData(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
  }
  drop(reason?: Error): void {
    this.closed = true;
    this.handlers.onClose(reason);
  }
  drain(): void {
    this.acceptMore = true;
    this.handlers.onDrain();
  }
  /** Packets written so far, each as the first byte's type nibble. */
  types(): number[] {
    return this.written.map((b) => b[0] >> 4);
  }
  /** Forgets what was written. */
  take(): Uint8Array[] {
    return this.written.splice(0, this.written.length);
  }
}

/** A Connector whose sockets the test drives by hand. */
export class FakeConnector implements Connector {
  readonly sockets: FakeSocket[] = [];
  /** Set to make connect() throw, e.g. for a bad address. */
  failWith: Error | undefined;

  connect(options: ConnectOptions, handlers: SocketHandlers): Socket {
    if (this.failWith) throw this.failWith;
    const s = new FakeSocket(options, handlers);
    this.sockets.push(s);
    return s;
  }

  get last(): FakeSocket {
    const s = this.sockets[this.sockets.length - 1];
    if (!s) throw new Error('no socket was opened');
    return s;
  }
}
