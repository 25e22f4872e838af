import { optional, utc } from './fields.js';
import { type MapOutcome, MappingRejection, type SourceMapping } from './types.js';

export const videoMapping: SourceMapping = {
  feed: 'video',
  personal: false,
  fieldSources: {
    alert_id: 'alarmId',
    camera_id: 'cameraId',
    event_type: 'vendor+eventCode',
    vendor_code: 'eventCode',
    confidence: 'score',
    occurred_at: 'time',
    region_code: 'areaCode',
    lon: 'lng',
    lat: 'lat',
    image_url: 'picUrl',
    status: 'state',
    status_at: 'stateTime',
  },
  map(p, context): MapOutcome {
    // Vendor codes are identifiers: some vendors send them as numbers.
    const vendorCode = typeof p.eventCode === 'number' ? String(p.eventCode) : p.eventCode;
    let eventType: string | undefined;
    if (typeof p.vendor === 'string' && typeof vendorCode === 'string') {
      eventType = context.videoEventCodes.get(`${p.vendor}\u0001${vendorCode}`);
      if (eventType === undefined) {
        throw new MappingRejection(
          'unmapped_code',
          'eventCode',
          `no event class for vendor ${p.vendor} code ${vendorCode}`,
        );
      }
    }
    return {
      records: 1,
      rejections: [],
      rows: [
        {
          dataset: 'video_alert',
          row: {
            alert_id: p.alarmId,
            camera_id: p.cameraId,
            event_type: eventType,
            vendor_code: vendorCode,
            confidence: typeof p.score === 'number' ? p.score / 100 : p.score,
            occurred_at: utc(p.time, 'time'),
            region_code: p.areaCode,
            lon: optional(p.lng),
            lat: optional(p.lat),
            image_url: optional(p.picUrl),
            status: p.state,
            status_at: utc(p.stateTime, 'stateTime'),
          },
        },
      ],
    };
  },
};
