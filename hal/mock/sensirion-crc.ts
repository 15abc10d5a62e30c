/**
 * Sensirion CRC-8 (poly 0x31, init 0xFF, no reflection, no final XOR) for the chip model.
 * Deliberately a separate copy from the driver's: if the model shared the driver's function, a bug
 * in it would cancel out and every driver test would still pass.
 */
export function modelCrc8(msb: number, lsb: number): number {
  let crc = 0xff;
  for (const byte of [msb, lsb]) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}
