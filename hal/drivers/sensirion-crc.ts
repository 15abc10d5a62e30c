/**
 * Sensirion CRC-8: polynomial 0x31 (x^8 + x^5 + x^4 + 1), init 0xFF, no reflection, no final XOR
 * (SHT3x datasheet section 4.12). Check vector: 0xBE 0xEF -> 0x92.
 */
export function sensirionCrc8(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xff;
  for (let i = start; i < end; i++) {
    crc ^= bytes[i];
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff;
    }
  }
  return crc;
}
