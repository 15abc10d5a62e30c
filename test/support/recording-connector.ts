import type { ConnectOptions, Connector, Socket, SocketHandlers } from '../../src/platform/socket';
import { NodeConnector } from '../../targets/host/platform/node-connector';
import { MqttFramer } from './mqtt-frames';

/** A real Node connector that also keeps every packet the client wrote, per connection. */
export class RecordingConnector implements Connector {
  private readonly inner = new NodeConnector();
  /** Packets written, one list per connection attempt. */
  readonly connections: Buffer[][] = [];

  connect(options: ConnectOptions, handlers: SocketHandlers): Socket {
    const packets: Buffer[] = [];
    this.connections.push(packets);
    const framer = new MqttFramer();
    const socket = this.inner.connect(options, handlers);
    return {
      write(bytes: Uint8Array): boolean {
        for (const f of framer.push(bytes)) packets.push(f);
        return socket.write(bytes);
      },
      close: () => socket.close(),
    };
  }

  /** All PUBLISH packets written, over every connection, as {id, dup, connection}. */
  publishes(): { id: number; dup: boolean; connection: number; payload: string }[] {
    const out: { id: number; dup: boolean; connection: number; payload: string }[] = [];
    this.connections.forEach((packets, connection) => {
      for (const p of packets) {
        if (p[0] >> 4 !== 3) continue;
        let i = 1;
        while (p[i] & 0x80) i++;
        i++;
        const topicLength = p.readUInt16BE(i);
        const qos = (p[0] >> 1) & 3;
        const idAt = i + 2 + topicLength;
        out.push({
          id: qos ? p.readUInt16BE(idAt) : 0,
          dup: (p[0] & 8) !== 0,
          connection,
          payload: p.subarray(idAt + (qos ? 2 : 0)).toString(),
        });
      }
    });
    return out;
  }
}
