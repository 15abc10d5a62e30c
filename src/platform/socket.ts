/** TLS material as PEM text; the target loads it from files, flash or the manifest. */
export interface TlsOptions {
  /** CA certificate(s) that sign the server certificate. */
  ca?: string;
  /** Client certificate for X.509 authentication. */
  cert?: string;
  /** Private key of the client certificate. */
  key?: string;
  /** Server name for SNI and certificate checks; defaults to the host. */
  serverName?: string;
}

export interface ConnectOptions {
  host: string;
  port: number;
  tls?: TlsOptions;
}

/** Callbacks a socket reports to. After close() none of them fire again. */
export interface SocketHandlers {
  /** The connection is open (after the TLS handshake when TLS is on). */
  onConnect(): void;
  /** Bytes arrived. The array may be reused by the socket after the call returns. */
  onData(bytes: Uint8Array): void;
  /** The socket can take more after write() returned false. */
  onDrain(): void;
  /** The connection ended; called once. `reason` is absent for a clean remote close. */
  onClose(reason?: Error): void;
}

export interface Socket {
  /**
   * Queues bytes for sending; always takes them. Returns false when the caller should wait for
   * onDrain before writing more (back-pressure).
   */
  write(bytes: Uint8Array): boolean;
  /** Closes the connection; no handler fires afterwards. Safe to call twice. */
  close(): void;
}

/** Opens sockets. Portable code gets one injected and never touches net, tls or embedded:io. */
export interface Connector {
  connect(options: ConnectOptions, handlers: SocketHandlers): Socket;
}
