import { describe, expect, it } from 'vitest';
import { MockIo } from '../../hal/mock';
import type { I2cChipModel } from '../../hal/mock';
import type { Level } from '../../hal/types';
import { Edge } from '../../hal/types';
import { expectHalError } from '../contract/expect-hal-error';

describe('MockIo pins', () => {
  it('records every output level, including the initial one, and keeps it after close', () => {
    const io = new MockIo();
    const relay = io.openDigitalOutput({ pin: 26, mode: 'output', initial: 1 });
    relay.write(0);
    relay.write(0);
    relay.write(1);
    relay.close();
    expect(io.pin(26).writes).toEqual([1, 0, 0, 1]);
    expect(io.openPins()).toEqual([]);
  });

  it('reads the pull resistor when nothing drives an input', () => {
    const io = new MockIo();
    const up = io.openDigitalInput({ pin: 0, mode: 'input-pullup' });
    const down = io.openDigitalInput({ pin: 4, mode: 'input-pulldown' });
    expect([up.read(), down.read()]).toEqual([1, 0]);
    io.pin(0).setLevel(0);
    expect(up.read()).toBe(0);
    io.pin(0).release();
    expect(up.read()).toBe(1);
  });

  it('fires a falling edge when a pressed button (to ground) is released from the pull-up', () => {
    const io = new MockIo();
    const seen: Level[] = [];
    io.openDigitalInput({ pin: 0, mode: 'input-pullup', edge: Edge.Falling }, (level) => seen.push(level));
    io.pin(0).setLevel(0); // press
    io.pin(0).release(); // back to 1 via pull-up: a rising edge, not reported
    io.pin(0).setLevel(0);
    expect(seen).toEqual([0, 0]);
  });

  it('defaults to both edges when a callback is given without an edge mask', () => {
    const io = new MockIo();
    const seen: Level[] = [];
    io.openDigitalInput({ pin: 0, mode: 'input' }, (level) => seen.push(level));
    io.pin(0).setLevel(1);
    io.pin(0).setLevel(0);
    expect(seen).toEqual([1, 0]);
  });

  it("refuses a pin already open as another kind with 'bad-config' naming the pin", () => {
    const io = new MockIo();
    io.openPwm({ pin: 5 });
    const error = expectHalError('bad-config', () => io.openDigitalOutput({ pin: 5 }));
    expect(error.message).toContain('pin 5');
    expect(error.message).toContain('pwm');
    expect(io.openPins()).toEqual([5]);
  });

  it("refuses bad specs with 'bad-config'", () => {
    const io = new MockIo();
    expectHalError('bad-config', () => io.openDigitalOutput({ pin: -1 }));
    expectHalError('bad-config', () => io.openDigitalInput({ pin: 1, mode: 'output' as never }));
    expectHalError('bad-config', () => io.openAnalog({ pin: 34, resolution: 0 }));
    expectHalError('bad-config', () => io.openPwm({ pin: 5, hz: 0 }));
    expectHalError('bad-config', () => io.openI2c({ data: 21, clock: 22, hz: 100_000, address: 0x80 }));
    expectHalError('bad-config', () => io.openI2c({ data: 21, clock: 22, hz: 0, address: 0x44 }));
    expect(io.openPins()).toEqual([]);
  });

  it('records PWM duties', () => {
    const io = new MockIo({ pwmResolution: 8 });
    const pwm = io.openPwm({ pin: 5, hz: 500 });
    expect([pwm.resolution, pwm.hz]).toEqual([8, 500]);
    pwm.write(0);
    pwm.write(128);
    pwm.write(255);
    expect(io.pin(5).duties).toEqual([0, 128, 255]);
  });
});

describe('MockIo analog', () => {
  it('returns queued values in order, repeating the last, rounded and clamped to the resolution', () => {
    const io = new MockIo();
    io.pin(34).setAnalog(100, 200.6, -5, 5000);
    const adc = io.openAnalog({ pin: 34 });
    expect(adc.resolution).toBe(12);
    expect([adc.read(), adc.read(), adc.read(), adc.read(), adc.read()]).toEqual([100, 201, 0, 4095, 4095]);
    expect(io.pin(34).analogReads).toBe(5);
  });

  it('computes values from a function of the sample index', () => {
    const io = new MockIo();
    io.pin(34).setAnalogFunction((i) => i * 10);
    const adc = io.openAnalog({ pin: 34, resolution: 10 });
    expect([adc.read(), adc.read(), adc.read()]).toEqual([0, 10, 20]);
  });
});

describe('MockIo I2C', () => {
  it('dispatches to the chip at the address and logs each transfer', () => {
    const io = new MockIo();
    const written: number[][] = [];
    const echo: I2cChipModel = {
      write: (bytes) => (written.push(Array.from(bytes)), true),
      read: (length) => Uint8Array.from({ length }, (_, i) => i + 1),
    };
    const bus = io.bus(21, 22);
    bus.attach(0x20, echo);
    const device = io.openI2c({ data: 21, clock: 22, hz: 100_000, address: 0x20 });
    device.write(Uint8Array.of(1, 2));
    expect(Array.from(device.read(3))).toEqual([1, 2, 3]);
    expect(written).toEqual([[1, 2]]);
    expect(bus.log).toEqual([
      { address: 0x20, op: 'write', bytes: [1, 2], acked: true },
      { address: 0x20, op: 'read', bytes: [1, 2, 3], acked: true },
    ]);
  });

  it('keeps separate buses apart: a chip on pins 21/22 is absent on 16/17', () => {
    const io = new MockIo();
    io.bus(21, 22).attach(0x20, { write: () => true, read: (n) => new Uint8Array(n) });
    const other = io.openI2c({ data: 16, clock: 17, hz: 100_000, address: 0x20 });
    const error = expectHalError('no-device', () => other.write(Uint8Array.of(0)));
    expect(error.message).toContain('data 16');
  });

  it("NACKs after detach with 'no-device'", () => {
    const io = new MockIo();
    const bus = io.bus(21, 22);
    bus.attach(0x20, { write: () => true, read: (n) => new Uint8Array(n) });
    const device = io.openI2c({ data: 21, clock: 22, hz: 100_000, address: 0x20 });
    device.write(Uint8Array.of(0));
    bus.detach(0x20);
    expectHalError('no-device', () => device.read(1));
    expect(bus.log[1].acked).toBe(false);
  });
});

describe('MockI2cBus log', () => {
  it('keeps only the most recent transactions', async () => {
    const { MockI2cBus } = await import('../../hal/mock/mock-i2c');
    const bus = new MockI2cBus(4);
    for (let i = 0; i < 10; i++) bus.write(0x40, Uint8Array.of(i), true);
    expect(bus.log.map((t) => t.bytes[0])).toEqual([6, 7, 8, 9]);
  });
});
