import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawFilesConnectorConfig } from '../../connectors/raw-files/config.js';
import { RawFilesConnector, SENT_FOLDER } from '../../connectors/raw-files/connector.js';
import { describeConnectorConformance } from '../support/connector-conformance.js';

describeConnectorConformance('raw-files', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'cityhub-conformance-raw-files-'));
  let next = 0;
  return {
    topics: ['raw.sensor', 'dlq.sensor'],
    async offer(count) {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const id = `reading-${String(next++).padStart(4, '0')}`;
        // Written under a dot-name and renamed, as a careful producer does.
        await writeFile(join(folder, `.${id}.json`), JSON.stringify({ id }));
        await rename(join(folder, `.${id}.json`), join(folder, `${id}.json`));
        ids.push(id);
      }
      return ids;
    },
    identify: (message) => (JSON.parse(message.value.toString('utf8')) as { id?: string }).id,
    connector: () =>
      new RawFilesConnector(
        rawFilesConnectorConfig.parse({
          id: 'conformance',
          kind: 'raw-files',
          path: folder,
          feed: 'sensor',
          poll_interval_ms: 10,
        }),
        folder,
      ),
    acknowledged: async (id) => existsSync(join(folder, SENT_FOLDER, `${id}.json`)),
    close: () => rm(folder, { recursive: true, force: true }),
  };
});
