import { describe, expect, it } from 'vitest';
import { sensirionCrc8 } from '../../hal/drivers';
import { modelCrc8 } from '../../hal/mock/sensirion-crc';

describe('Sensirion CRC-8', () => {
  it('matches the datasheet check vector 0xBEEF -> 0x92', () => {
    expect(sensirionCrc8(Uint8Array.of(0xbe, 0xef))).toBe(0x92);
    expect(modelCrc8(0xbe, 0xef)).toBe(0x92);
  });

  it('is the init value 0xFF over no bytes, and covers only start..end', () => {
    expect(sensirionCrc8(new Uint8Array(0))).toBe(0xff);
    expect(sensirionCrc8(Uint8Array.of(0x00, 0xbe, 0xef, 0x00), 1, 3)).toBe(0x92);
  });

  it("agrees with the chip model's separate copy on every 16-bit word", () => {
    const word = new Uint8Array(2);
    let mismatches = 0;
    for (let v = 0; v < 0x10000; v++) {
      word[0] = v >> 8;
      word[1] = v & 0xff;
      if (sensirionCrc8(word) !== modelCrc8(v >> 8, v & 0xff)) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('detects every single-bit error in a word', () => {
    const crc = sensirionCrc8(Uint8Array.of(0x66, 0x66));
    for (let bit = 0; bit < 16; bit++) {
      const v = 0x6666 ^ (1 << bit);
      expect(sensirionCrc8(Uint8Array.of(v >> 8, v & 0xff))).not.toBe(crc);
    }
  });
});
