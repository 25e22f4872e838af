/** Video-AI alerts on raw.video from two vendors, with operator status updates; dispatched ones become city events. */
import { centreOf, vendorCodeFor } from './codes.js';
import type { SimContext } from './context.js';
import { drawLifecycle } from './events.js';
import { type VideoDistrictLayout, videoDistricts } from './layout.js';
import { type Rng, WeightedTable } from './rng.js';
import { dayStartMs } from './time.js';

const MIN = 60_000;

/** Relative alert frequency by local hour (street-scene analytics fire mostly by day). */
const hourWeights = new WeightedTable(
  Array.from({ length: 24 }, (_, h) => [h, h < 6 ? 1 : h < 8 ? 4 : h < 20 ? 10 : 4] as const),
);

export interface Camera {
  id: string;
  lon: number;
  lat: number;
  grid: string;
}

export const vendorPrefix = (vendor: string) => (vendor === 'hik' ? 'HIK' : 'DH');

export function camerasOf(ctx: SimContext, vd: VideoDistrictLayout): Camera[] {
  const rng = ctx.rng('cameras', vd.region);
  const [lon0, lat0] = centreOf(vd.region);
  return Array.from({ length: vd.cameras }, (_, i) => ({
    id: `CAM-${vd.region}-${String(i + 1).padStart(4, '0')}`,
    lon: Math.round((lon0 + (rng.float() - 0.5) * 0.06) * 1e6) / 1e6,
    lat: Math.round((lat0 + (rng.float() - 0.5) * 0.05) * 1e6) / 1e6,
    grid: `${vd.region}${String(rng.int(1, 8)).padStart(3, '0')}${String(rng.int(1, 12)).padStart(3, '0')}${String(rng.int(1, 40)).padStart(3, '0')}`,
  }));
}

export function alertPayload(
  vd: VideoDistrictLayout,
  alarmId: string,
  camera: Camera,
  eventClass: string,
  score: number,
  occurredMs: number,
  withPicture: boolean,
): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    alarmId,
    cameraId: camera.id,
    vendor: vd.vendor,
    eventCode: vendorCodeFor(vd.vendor, eventClass),
    score,
    time: occurredMs,
    areaCode: vd.region,
    lng: camera.lon,
    lat: camera.lat,
  };
  if (withPicture) payload.picUrl = `https://img.example.cn/${vd.vendor}/${vd.region}/${alarmId}.jpg`;
  return payload;
}

function alertTime(rng: Rng, day: number, vendor: string): number {
  const hour = rng.weighted(hourWeights);
  return dayStartMs(day) + hour * 3_600_000 + rng.int(0, 3599) * 1000 + (vendor === 'dh' ? rng.int(0, 999) : 0);
}

export function simulateVideo(ctx: SimContext): void {
  const { hist } = ctx;
  for (const vd of videoDistricts) {
    if (!ctx.has(vd.region)) continue;
    const rng = ctx.rng('video', vd.region);
    const cameras = camerasOf(ctx, vd);
    const early = new WeightedTable(vd.classes);
    const later = vd.later ? new WeightedTable(vd.later.classes) : early;
    let seq = 0;
    for (let day = hist.startDay; day < hist.endDay; day++) {
      const month = ctx.monthIndexOf(day);
      const classes = vd.later && month >= vd.later.fromMonth ? later : early;
      const n = rng.poisson(vd.perDay * ctx.scale);
      const times = Array.from({ length: n }, () => alertTime(rng, day, vd.vendor)).sort((a, b) => a - b);
      for (const occurredMs of times) {
        seq++;
        const alarmId = `${vendorPrefix(vd.vendor)}-${vd.region}-${String(seq).padStart(6, '0')}`;
        const eventClass = rng.weighted(classes);
        const camera = rng.pick(cameras);
        const score = Math.round((55 + rng.float() * 44.9) * 10) / 10;
        const base = alertPayload(
          vd,
          alarmId,
          camera,
          eventClass,
          score,
          occurredMs,
          vd.vendor === 'hik' || rng.chance(0.9),
        );
        const send = (state: string, stateMs: number) => {
          ctx.valid('video', alarmId, stateMs + rng.int(1, 15) * 1000, { ...base, state, stateTime: stateMs });
          ctx.facts.video_alert.push({
            alert_id: alarmId,
            status: state,
            event_type: eventClass,
            region_code: vd.region,
            occurred_at_ms: occurredMs,
          });
        };
        send('new', occurredMs);
        const review = rng.float();
        if (review < 0.12) continue; // nobody looked at it
        const reviewMs = occurredMs + rng.int(2, 40) * MIN + rng.int(0, 59) * 1000;
        if (review < 0.42) {
          send('false_positive', reviewMs);
          continue;
        }
        send('confirmed', reviewMs);
        if (!rng.chance(vd.dispatchProb)) continue;
        const dispatchMs = reviewMs + rng.int(3, 30) * MIN + rng.int(0, 59) * 1000;
        send('dispatched', dispatchMs);
        const reportMs = Math.floor(dispatchMs / 1000) * 1000;
        if (reportMs >= hist.endMs) continue; // filed by the case system after the history: not part of the demo
        const life = drawLifecycle(rng, 'video', reportMs, 0.85);
        ctx.events.push({
          source: 'video',
          sourceRef: alarmId,
          eventClass,
          region: vd.region,
          grid: camera.grid,
          life,
        });
        if (life.final === 5) send('closed', life.times[5]!);
      }
    }
  }
}
