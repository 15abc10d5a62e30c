/**
 * The bridge between the firmware inside xsnap-worker (XS) and the Node host that owns sockets,
 * wall-clock timers and the state file. Portable: imported by both sides (no Node types).
 *
 * Host -> worker: one command per `handleCommand(ArrayBuffer)` call:
 *   [u8 op][u16 id big-endian][payload...]
 * Worker -> host: the reply of that same call (no issueCommand round trips):
 *   [f64 next timer delay in ms, big-endian; -1 = no timer] then records
 *   [u8 op][u16 id][u32 payload length][payload...] ...
 *
 * The reply is produced by a `result` getter that xsnap-worker reads after it ran the worker's
 * job queue to idle (xsnap-worker.c reads `.result` after fxRunLoop), so effects made in promise
 * reactions of the same command travel in the same reply. Bytes travel as they are.
 */

/** Host -> worker. */
export const CMD = {
  /** payload: UTF-8 JSON StartMessage. Starts the firmware. */
  start: 0x53, // 'S'
  /** Runs the timers that are due (the host's timer for the last announced delay fired). */
  tick: 0x54, // 'T'
  /** Socket `id` is open. */
  open: 0x4f, // 'O'
  /** Bytes arrived on socket `id`; payload = the bytes. */
  data: 0x44, // 'D'
  /** The host's socket `id` cannot take more for now (its write returned false). */
  blocked: 0x42, // 'B'
  /** Socket `id` drained after `blocked`. */
  drain: 0x57, // 'W'
  /** Socket `id` closed; payload = UTF-8 reason, empty for a clean remote close. */
  closed: 0x43, // 'C'
  /** Stops the firmware (closes everything it opened). */
  stop: 0x58, // 'X'
  /** Replies with a 'status' record (UTF-8 JSON from the firmware's status()). */
  status: 0x51, // 'Q'
  /** The host's update target finished request `id` (otaVerify, otaInstall); payload = '' or the UTF-8 error. */
  otaResult: 0x55, // 'U'
} as const;

/** Worker -> host records. */
export const REC = {
  /** Open socket `id`; payload = UTF-8 JSON {host, port, tls?}. */
  connect: 0x63, // 'c'
  /** Write payload bytes to socket `id`. */
  write: 0x77, // 'w'
  /** Close socket `id` (after flushing what was written); no more events for it. */
  close: 0x78, // 'x'
  /** Store: set; payload = UTF-8 key, 0x00, UTF-8 JSON value. */
  storeSet: 0x73, // 's'
  /** Store: delete; payload = UTF-8 key. */
  storeDelete: 0x64, // 'd'
  /** Log line; id = level (0 debug, 1 info, 2 warn, 3 error); payload = UTF-8 text. */
  log: 0x6c, // 'l'
  /** Answer to CMD.status; payload = UTF-8 JSON. */
  status: 0x71, // 'q'
  /** The firmware failed to start or stopped by itself; payload = UTF-8 message. */
  fatal: 0x66, // 'f'
  /** OTA, the host's update target: begin an image; payload = UTF-8 JSON FirmwareImage. */
  otaBegin: 0x62, // 'b'
  /** OTA: append payload bytes to the image. */
  otaWrite: 0x6f, // 'o'
  /** OTA: check the checksum; the host answers CMD.otaResult with this record's id. */
  otaVerify: 0x76, // 'v'
  /** OTA: install the checked image; answered by CMD.otaResult with this record's id. */
  otaInstall: 0x69, // 'i'
  /** OTA: drop the unfinished image. */
  otaAbort: 0x61, // 'a'
  /** OTA: restart into the installed image (the host starts a new worker with its version). */
  otaRestart: 0x72, // 'r'
} as const;

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export const REPLY_HEADER_BYTES = 8;
export const RECORD_HEADER_BYTES = 7;

export interface Record {
  op: number;
  id: number;
  payload: Uint8Array;
}

/** Encodes a host -> worker command. */
export function encodeCommand(op: number, id: number, payload?: Uint8Array): Uint8Array {
  const n = payload ? payload.length : 0;
  const bytes = new Uint8Array(3 + n);
  bytes[0] = op;
  bytes[1] = id >> 8;
  bytes[2] = id & 0xff;
  if (payload) bytes.set(payload, 3);
  return bytes;
}

/** Decodes a worker reply into the next timer delay and its records (payloads are views). */
export function decodeReply(bytes: Uint8Array): { delayMs: number; records: Record[] } {
  if (bytes.length === 0) return { delayMs: Number.NaN, records: [] };
  if (bytes.length < REPLY_HEADER_BYTES) throw new Error('bridge reply shorter than its header: ' + bytes.length + ' bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const delayMs = view.getFloat64(0);
  const records: Record[] = [];
  let o = REPLY_HEADER_BYTES;
  while (o < bytes.length) {
    if (o + RECORD_HEADER_BYTES > bytes.length) throw new Error('bridge reply: truncated record header at ' + o);
    const op = bytes[o];
    const id = view.getUint16(o + 1);
    const length = view.getUint32(o + 3);
    const start = o + RECORD_HEADER_BYTES;
    if (start + length > bytes.length) throw new Error('bridge reply: record at ' + o + ' runs past the end');
    records.push({ op, id, payload: bytes.subarray(start, start + length) });
    o = start + length;
  }
  return { delayMs, records };
}

/** What the host sends with CMD.start. */
export interface StartMessage {
  /** DeviceConnectionConfig (JSON-safe). */
  config: unknown;
  /** The device's name (the firmware reports it). */
  name: string;
  /** The state file's contents: key -> JSON value. */
  store: { [key: string]: unknown };
  /** Seed for the worker's PRNG (xsnap's Math.random is the same sequence in every worker). */
  seed: number;
  /** Lowest level forwarded to the host. */
  logLevel: (typeof LOG_LEVELS)[number];
  /** Which firmware to run: 'device' (DeviceClient only, test firmware) or 'firmware' (the app). */
  app?: string;
  /** Options for the app (e.g. the simulated board's settings). */
  appOptions?: unknown;
  /** Host names the host resolved (name -> IPv4): the socket adapter, like the device's, takes addresses only. */
  resolved?: { [host: string]: string };
  /** The host's update target (OTA): its capacity and the checksum algorithms it checks. */
  ota?: { capacity: number; algorithms: string[] };
}
