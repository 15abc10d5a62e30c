import { parser as createParser } from 'mqtt-packet';

/** Parses one whole packet with mqtt-packet (the reference); returns the packet or its Error. */
export function parsePacket(bytes: Uint8Array): any {
  const p = createParser();
  let out: any;
  p.on('packet', (x) => (out = x));
  p.on('error', (e) => (out = e));
  p.parse(Buffer.from(bytes));
  return out;
}
