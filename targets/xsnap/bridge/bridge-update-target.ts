/**
 * The XS engine's UpdateTarget: the host's file target (targets/host/platform/file-update-target.ts)
 * through the bridge, so the image lands where `tbxs device --ota-dir` puts it on the Node engine.
 * Bytes go as records; verify() and install() wait for the host's CMD.otaResult.
 */
import type { FirmwareImage, UpdateTarget } from '../../../src/platform/update-target';
import { utf8Encode } from '../../../src/platform/utf8';
import { REC } from './protocol';

export interface RecordSink {
  record(op: number, id: number, payload: Uint8Array | undefined): void;
}

export class BridgeUpdateTarget implements UpdateTarget {
  readonly capacity: number;
  private readonly algorithms_: readonly string[];
  private readonly sink_: RecordSink;
  private nextId_ = 1;
  /** The one request waiting for the host (verify or install). */
  private pending_: { id: number; resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(sink: RecordSink, capacity: number, algorithms: readonly string[]) {
    this.sink_ = sink;
    this.capacity = capacity;
    this.algorithms_ = algorithms;
  }

  supports(algorithm: string): boolean {
    return this.algorithms_.indexOf(algorithm) >= 0;
  }

  begin(image: FirmwareImage): void {
    this.sink_.record(REC.otaBegin, 0, utf8Encode(JSON.stringify(image)));
  }

  write(bytes: Uint8Array): void {
    // A copy: the payload is a view of the session's receive buffer, reused before the reply is encoded.
    this.sink_.record(REC.otaWrite, 0, bytes.slice());
  }

  verify(): Promise<void> {
    return this.ask_(REC.otaVerify);
  }

  install(): Promise<void> {
    return this.ask_(REC.otaInstall);
  }

  abort(): void {
    this.sink_.record(REC.otaAbort, 0, undefined);
    const pending = this.pending_;
    this.pending_ = undefined;
    if (pending) pending.reject(new Error('aborted'));
  }

  restart(): void {
    this.sink_.record(REC.otaRestart, 0, undefined);
  }

  /** The host's answer to request `id`: '' for done, else the error text. */
  settle(id: number, error: string): void {
    const pending = this.pending_;
    if (!pending || pending.id !== id) return;
    this.pending_ = undefined;
    if (error === '') pending.resolve();
    else pending.reject(new Error(error));
  }

  private ask_(op: number): Promise<void> {
    if (this.pending_) return Promise.reject(new Error('another update step is still running'));
    const id = this.nextId_;
    this.nextId_ = id >= 0xffff ? 1 : id + 1;
    return new Promise<void>((resolve, reject) => {
      this.pending_ = { id, resolve, reject };
      this.sink_.record(op, id, undefined);
    });
  }
}
