/** buildDemoCity: plans the whole history up front (catalogs, valid records, broken ones) so that it can be replayed. */
import { addDuplicates, addInvalid } from './broken.js';
import { buildDevices, buildResources, buildScenarios, makePhones } from './catalogs.js';
import { SimContext } from './context.js';
import { simulateDept } from './dept.js';
import { addBrokenDeptFiles } from './dept-files.js';
import { materializeEvents, simulateGridEvents } from './events.js';
import { simulateHotline } from './hotline.js';
import { simulateSensors } from './sensors.js';
import type { DemoCity, DemoOptions, LiveDevice, RawMessage } from './types.js';
import { simulateVideo } from './video.js';

export function buildDemoCity(options: DemoOptions): DemoCity {
  const ctx = new SimContext(options);
  const devicePlans = buildDevices(ctx);
  const data_resources = buildResources(ctx);
  const scenarios = buildScenarios();
  ctx.phones = makePhones(ctx);

  simulateSensors(ctx, devicePlans);
  simulateVideo(ctx);
  simulateHotline(ctx);
  simulateGridEvents(ctx);
  materializeEvents(ctx);
  simulateDept(ctx);
  addDuplicates(ctx);
  addInvalid(ctx, devicePlans);
  if (ctx.options.dept === 'files') addBrokenDeptFiles(ctx);
  ctx.messages.sort((a, b) => a.emitMs - b.emitMs || a.seq - b.seq);
  ctx.deptFiles.sort((a, b) => a.deliveredMs - b.deliveredMs || (a.name < b.name ? -1 : 1));

  const liveDevices: LiveDevice[] = devicePlans
    .filter((dp) => dp.device.removed_on === undefined)
    .map(({ device, spec, vendor }) => ({
      device_id: device.device_id,
      device_type: device.device_type,
      metric: spec.metric,
      unit: vendor.unit,
      ts: vendor.ts,
      region_code: device.region_code,
      grid_code: device.grid_code!,
      ...(vendor.coords ? { lon: device.lon!, lat: device.lat! } : {}),
    }));

  return {
    catalogs: { regions: options.regions, data_resources, scenarios, devices: devicePlans.map((dp) => dp.device) },
    options,
    plan: {
      history: ctx.hist,
      messages: ctx.messages,
      deptFiles: ctx.deptFiles,
      facts: ctx.facts,
      phones: ctx.phones,
      liveDevices,
    },
  };
}

/** The history, in send order (roughly time order, feeds interleaved). Finite and deterministic. */
export function* historyMessages(city: DemoCity): Generator<RawMessage> {
  for (const m of city.plan.messages) {
    yield { feed: m.feed, key: m.key, value: m.value };
  }
}

/** Every clear caller phone the city sends (history and live): none of them may land anywhere. */
export function clearPhones(city: DemoCity): string[] {
  return [...city.plan.phones].sort();
}
