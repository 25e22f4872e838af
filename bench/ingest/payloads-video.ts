/**
 * Video-AI alerts (mappings/demo/video.yaml): each alert sent twice, when it is raised (`new`) and at its next status
 * change, epoch-millisecond times, 3,000 messages an hour up to the run. Invalid ones: the score as text, an unknown
 * region, a line cut short, a time before 2000 or days ahead.
 */
import { type GenerateOptions, implausibleTime, type PayloadSet, timeline } from './payload-set.js';
import { recordPayloads } from './record-payloads.js';
import { districts, UNKNOWN_REGION } from './regions.js';

/** vendor:eventCode pairs of mappings/demo/video-event-codes.csv. */
const EVENTS = [
  ['hik', '890'],
  ['hik', '895'],
  ['hik', '910'],
  ['dh', 'GARBAGE_EXPOSED'],
  ['dh', 'ILLEGAL_PARKING'],
] as const;
const NEXT_STATUS = ['confirmed', 'false_positive', 'dispatched', 'closed'] as const;

export function videoPayloads(count: number, { seed, now }: GenerateOptions): PayloadSet {
  const timeOf = timeline(count, 3_000, now);
  return recordPayloads(count, seed, 280, (i, kind, random) => {
    const alert = i >> 1;
    const region = districts[alert % districts.length]!;
    const camera = alert % 5_000;
    const [vendor, eventCode] = EVENTS[alert % EVENTS.length]!;
    const alarmId = `${vendor.toUpperCase()}-${region}-${String(alert).padStart(8, '0')}`;
    const score = Math.round(500 + random() * 500) / 10;
    const raised = kind === 'time' ? implausibleTime(random, now) : timeOf(i & ~1);
    const text = JSON.stringify({
      alarmId,
      cameraId: `CAM-${region}-${String(camera).padStart(4, '0')}`,
      vendor,
      eventCode,
      score: kind === 'schema' ? String(score) : score,
      time: raised,
      areaCode: kind === 'region' ? UNKNOWN_REGION : region,
      lng: 120 + (camera % 100) / 100,
      lat: 30 + (camera % 50) / 100,
      picUrl: `https://img.example.cn/${region}/${alarmId}.jpg`,
      state: i & 1 ? NEXT_STATUS[alert % NEXT_STATUS.length] : 'new',
      stateTime: kind === 'time' ? raised : timeOf(i),
    });
    return { value: text, key: alarmId };
  });
}
