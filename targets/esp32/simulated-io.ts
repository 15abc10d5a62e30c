import type { BoardDescription, IoFactory } from '../../hal/types';
import { Bme280Model, MockIo, Sht3xModel } from '../../hal/mock';
import type { Clock } from '../../src/platform/clock';

/**
 * The IO of Moddable's desktop simulator (mcsim has no embedded:io/digital): hal/mock with an
 * SHT3x and a BME280 on the board's I2C bus and a battery on its ADC pin, whose values follow a
 * slow daily curve with a little noise. Pins behave like real ones (the LED and relays keep the
 * level written; a pulled-up button reads released).
 */
export class SimulatedIo {
  readonly io: IoFactory;
  private readonly mock_: MockIo;
  private readonly sht_ = new Sht3xModel();
  private readonly bme_ = new Bme280Model();
  private readonly buses_: { log: unknown[] }[] = [];

  constructor(
    board: BoardDescription,
    private readonly clock_: Clock,
    private readonly random_: () => number = Math.random,
  ) {
    this.mock_ = new MockIo();
    this.io = this.mock_;
    for (const sensor of Object.values(board.sensors ?? {})) {
      const bus = this.mock_.bus(sensor.bus.data, sensor.bus.clock, sensor.bus.port);
      bus.attach(sensor.address, sensor.kind === 'sht3x' ? this.sht_ : this.bme_);
      if (this.buses_.indexOf(bus) < 0) this.buses_.push(bus);
    }
    for (const analog of Object.values(board.analog ?? {})) {
      const steps = 2 ** (analog.resolution ?? 12) - 1;
      this.mock_.pin(analog.pin).setAnalogFunction(() => {
        this.update();
        const volts = 3.95 + 0.05 * Math.sin(this.phase_()) + (this.random_() - 0.5) * 0.01;
        return Math.max(0, Math.min(steps, Math.round((volts - analog.offset) / analog.scale)));
      });
    }
    this.update();
  }

  /** Sets the chip models to the values of the current time (called before each reading). */
  update(): void {
    const phase = this.phase_();
    const noise = () => (this.random_() - 0.5) * 0.2;
    const temperature = 22 + 2.5 * Math.sin(phase) + noise();
    const humidity = 45 - 8 * Math.sin(phase) + noise() * 5;
    this.sht_.setTemperature(temperature);
    this.sht_.setHumidity(humidity);
    this.bme_.temperature = temperature + 0.3;
    this.bme_.humidity = humidity - 1;
    this.bme_.pressure = 1013 + 0.8 * Math.sin(phase / 2) + noise();
    // The mock buses record every transaction for tests; a long simulator run must not keep them.
    for (const bus of this.buses_) bus.log.length = 0;
  }

  private phase_(): number {
    return ((this.clock_.now() % 86_400_000) / 86_400_000) * 2 * Math.PI;
  }
}
