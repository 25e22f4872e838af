import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedBus } from '../../pipelines/bus/embedded/index.js';
import { describeBusConformance, reopeningHarness } from '../support/bus-conformance.js';

describeBusConformance('embedded log', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cityhub-conformance-bus-'));
  // A small lag bound, so the suite's slow consumer really holds the producer back (backpressure engaged) while it
  // must still lose nothing; fsync 'never' survives a close and reopen, which is all a restart here needs.
  const open = () => openEmbeddedBus({ dir: join(dir, 'bus'), fsync: 'never', maxLagBytes: 64 * 1024 });
  return reopeningHarness(open, () => rm(dir, { recursive: true, force: true }));
});
