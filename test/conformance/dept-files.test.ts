import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deptFilesConnectorConfig } from '../../connectors/dept-files/config.js';
import { DeptFilesConnector } from '../../connectors/dept-files/connector.js';
import type { DataResource } from '../../schemas/index.js';
import { describeConnectorConformance } from '../support/connector-conformance.js';

const resource: DataResource = {
  resource_code: 'R330106001',
  name: '企业名录',
  department_code: '330106-SJ',
  region_code: '330106',
  share_type: 'unconditional',
  update_frequency: 'daily',
  fields: [{ name: 'id', type: 'text', required: true }],
};

describeConnectorConformance('dept-files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cityhub-conformance-dept-files-'));
  const inbox = join(dir, 'inbox');
  await mkdir(inbox);
  let next = 0;
  return {
    topics: ['raw.dept', 'dlq.dept'],
    context: { dataResources: [resource] },
    async offer(count) {
      // One record per file: a file's delivery is acknowledged by moving it to done/.
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        const id = `rec-${String(next++).padStart(4, '0')}`;
        const name = `R330106001_${id}.csv`;
        await writeFile(join(inbox, `.${name}`), `id\n${id}\n`);
        await rename(join(inbox, `.${name}`), join(inbox, name));
        ids.push(id);
      }
      return ids;
    },
    identify(message) {
      const chunk = JSON.parse(message.value.toString('utf8')) as { kind?: string; records?: { id?: string }[] };
      return chunk.kind === 'records' ? chunk.records?.[0]?.id : undefined;
    },
    connector: () =>
      new DeptFilesConnector(
        deptFilesConnectorConfig.parse({
          id: 'conformance',
          kind: 'dept-files',
          source: { type: 'folder', path: inbox, settle_ms: 0, poll_interval_ms: 10 },
          read: { format: 'csv' },
          resource: { from: 'file_name', pattern: '^(?<resource>R\\d{9})_' },
        }),
        inbox,
        join(dir, 'state'),
      ),
    acknowledged: async (id) => existsSync(join(inbox, 'done', `R330106001_${id}.csv`)),
    close: () => rm(dir, { recursive: true, force: true }),
  };
});
