import { describe, expect, it } from 'vitest';
import { videoEventCodes } from '../../connectors/demo/codes.js';
import { feeds } from '../../connectors/types.js';
import { loadCodeTableSync, UNMAPPED } from './code-table.js';
import { builtinMapping } from './index.js';
import { builtinMappingPath, loadMappingFile } from './load.js';

describe('the built-in mappings (the demo city’s vendors, mappings/demo/)', () => {
  it('every feed has one, and the hotline’s says its payloads are personal', () => {
    for (const feed of feeds) expect(builtinMapping(feed).feed).toBe(feed);
    expect(feeds.filter((feed) => builtinMapping(feed).personal)).toEqual(['hotline']);
  });

  it('the video code table maps every vendor code the simulator sends, and nothing else', () => {
    const video = loadMappingFile(builtinMappingPath('video'), 'video');
    const table = loadCodeTableSync(video.spec.fields.event_type!.codes!, `${builtinMappingPath('video')}/..`);
    expect(table.size).toBe(videoEventCodes.length);
    for (const { vendor, code, event_class } of videoEventCodes)
      expect(table.lookup(`${vendor}:${code}`), `${vendor}:${code}`).toBe(event_class);
    expect(table.lookup('hik:999')).toBe(UNMAPPED);
  });
});
