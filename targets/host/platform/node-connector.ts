import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ConnectOptions, Connector, Socket, SocketHandlers } from '../../../src/platform/socket';

/** TCP and TLS sockets over node:net and node:tls. */
export class NodeConnector implements Connector {
  connect(options: ConnectOptions, handlers: SocketHandlers): Socket {
    return new NodeSocket(options, handlers);
  }
}

class NodeSocket implements Socket {
  private readonly socket: net.Socket;
  private closed = false;

  constructor(options: ConnectOptions, private readonly handlers: SocketHandlers) {
    if (options.tls) {
      const t = options.tls;
      this.socket = tls.connect({
        host: options.host,
        port: options.port,
        ca: t.ca,
        cert: t.cert,
        key: t.key,
        servername: t.serverName ?? (net.isIP(options.host) ? undefined : options.host),
      });
      this.socket.once('secureConnect', () => this.closed || handlers.onConnect());
    } else {
      this.socket = net.connect({ host: options.host, port: options.port });
      this.socket.once('connect', () => this.closed || handlers.onConnect());
    }
    this.socket.setNoDelay(true);
    this.socket.on('data', (data: Buffer) => this.closed || handlers.onData(data));
    this.socket.on('drain', () => this.closed || handlers.onDrain());
    let failure: Error | undefined;
    this.socket.on('error', (error) => {
      failure = error;
    });
    this.socket.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      handlers.onClose(failure);
    });
  }

  write(bytes: Uint8Array): boolean {
    if (this.closed) return true;
    return this.socket.write(bytes);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // end() flushes what was written (a DISCONNECT); destroy after a grace period in case the
    // peer never finishes the close.
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 1000);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
  }
}
