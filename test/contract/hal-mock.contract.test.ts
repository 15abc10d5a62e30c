/** The HAL contract suites run against hal/mock. The same suites take ModdableIo on a board. */
import { FakeClock } from '../support/fake-clock';
import { AnalogSensor, Bme280Driver, Sht3xDriver } from '../../hal/drivers';
import { Bme280Model, MockIo, Sht3xModel } from '../../hal/mock';
import { runAnalogInputContract } from './analog-input.contract';
import { runDigitalInputContract } from './digital-input.contract';
import { runDigitalOutputContract } from './digital-output.contract';
import { runI2cDeviceContract } from './i2c-device.contract';
import { runPwmOutputContract } from './pwm-output.contract';
import { runSensorContract } from './sensor.contract';

const BUS = { data: 21, clock: 22, hz: 100_000 };

{
  const io = new MockIo();
  runDigitalOutputContract('mock', (initial) => io.openDigitalOutput({ pin: 2, mode: 'output', initial }));
}

{
  const io = new MockIo();
  runDigitalInputContract('mock', {
    open: (mode, edge, onEdge) => io.openDigitalInput({ pin: 0, mode, edge }, onEdge),
    drive: (level) => io.pin(0).setLevel(level),
    settle: async () => {},
  });
}

{
  const io = new MockIo();
  io.pin(34).setAnalogFunction((i) => (i * 997) % 5000 - 200); // includes values out of range
  runAnalogInputContract('mock', () => io.openAnalog({ pin: 34 }));
}

{
  const io = new MockIo();
  runPwmOutputContract('mock', (hz) => io.openPwm({ pin: 5, hz }));
}

{
  const io = new MockIo();
  io.bus(BUS.data, BUS.clock).attach(0x76, new Bme280Model());
  runI2cDeviceContract('mock with a BME280 model', {
    open: (address) => io.openI2c({ ...BUS, address }),
    present: { address: 0x76, register: 0xd0, expect: Uint8Array.of(0x60) },
    absentAddress: 0x44,
  });
}

{
  const clock = new FakeClock();
  let model = new Sht3xModel(clock);
  runSensorContract('Sht3xDriver on the mock', {
    open() {
      const io = new MockIo();
      model = new Sht3xModel(clock);
      io.bus(BUS.data, BUS.clock).attach(0x44, model);
      return new Sht3xDriver(io.openI2c({ ...BUS, address: 0x44 }));
    },
    keys: ['temperature', 'humidity'],
    wait: (ms) => clock.advance(ms),
    disconnect: () => {
      model.answering = false;
    },
  });
}

{
  const clock = new FakeClock();
  let model = new Bme280Model(undefined, clock);
  runSensorContract('Bme280Driver on the mock', {
    open() {
      const io = new MockIo();
      model = new Bme280Model(undefined, clock);
      io.bus(BUS.data, BUS.clock).attach(0x76, model);
      return new Bme280Driver(io.openI2c({ ...BUS, address: 0x76 }));
    },
    keys: ['temperature', 'humidity', 'pressure'],
    wait: (ms) => clock.advance(ms),
    disconnect: () => {
      model.answering = false;
    },
  });
}

{
  runSensorContract('AnalogSensor on the mock', {
    open() {
      const io = new MockIo();
      io.pin(35).setAnalog(2048);
      return new AnalogSensor(io.openAnalog({ pin: 35 }), { name: 'battery_v', scale: 0.0016, offset: 0 });
    },
    keys: ['battery_v'],
    wait: () => {},
  });
}
