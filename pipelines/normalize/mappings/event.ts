import { codeTable, lookup, optional, utc } from './fields.js';
import type { MapOutcome, SourceMapping } from './types.js';

const statuses = codeTable({
  上报: 'reported',
  立案: 'registered',
  派遣: 'dispatched',
  处置: 'handled',
  核查: 'verified',
  结案: 'closed',
  作废: 'cancelled',
});

export const eventMapping: SourceMapping = {
  feed: 'event',
  personal: false,
  fieldSources: {
    event_id: 'caseId',
    source_kind: 'source',
    source_ref: 'sourceRef',
    event_class: 'eventClass',
    region_code: 'adcode',
    grid_code: 'gridCode',
    reported_at: 'reportTime',
    registered_at: 'registerTime',
    dispatched_at: 'dispatchTime',
    handled_at: 'handleTime',
    verified_at: 'verifyTime',
    closed_at: 'closeTime',
    deadline_at: 'deadline',
    status: 'status',
  },
  map(p): MapOutcome {
    return {
      records: 1,
      rejections: [],
      rows: [
        {
          dataset: 'city_event',
          row: {
            event_id: p.caseId,
            source_kind: p.source,
            source_ref: p.sourceRef,
            event_class: p.eventClass,
            region_code: p.adcode,
            grid_code: optional(p.gridCode),
            reported_at: utc(p.reportTime, 'reportTime'),
            registered_at: utc(p.registerTime, 'registerTime'),
            dispatched_at: utc(p.dispatchTime, 'dispatchTime'),
            handled_at: utc(p.handleTime, 'handleTime'),
            verified_at: utc(p.verifyTime, 'verifyTime'),
            closed_at: utc(p.closeTime, 'closeTime'),
            deadline_at: utc(p.deadline, 'deadline'),
            status: lookup(statuses, p.status),
          },
        },
      ],
    };
  },
};
