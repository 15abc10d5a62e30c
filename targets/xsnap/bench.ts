/**
 * Prints the cost on the real XS engine (xsnap) of one 84-byte QoS 1 PUBLISH: mqtt-packet with the
 * XS shims vs two hand encoders, and one parse. `npx tsx targets/xsnap/bench.ts [n]`
 */
import { buildXsBundle, measure } from './probe';
import { XsWorker } from './worker';

const n = Number(process.argv[2] ?? 1000);
const worker = await XsWorker.start();
try {
  const load = await worker.evaluate(await buildXsBundle());
  console.log(`probe bundle load: ${load.computrons} computrons`);
  const first = await worker.evaluate('tbxsProbe.bench.mqttPacket(1)');
  console.log(`first mqtt-packet generate (cacheNumbers off): ${first.computrons} computrons`);
  const rows = [];
  for (const name of ['mqttPacket', 'handTE', 'handJs', 'packetObject', 'parsePublish']) rows.push(await measure(worker, name, n));
  const hand = rows.find((r) => r.name === 'handTE')!;
  console.log(`per call, average of ${n} (computrons / slots, ratio to handTE):`);
  for (const r of rows) {
    console.log(
      `  ${r.name.padEnd(13)} ${r.computrons.toFixed(0).padStart(6)} / ${r.slots.toFixed(1).padStart(6)}   x${(r.computrons / hand.computrons).toFixed(2)}`,
    );
  }
} finally {
  await worker.close();
}
