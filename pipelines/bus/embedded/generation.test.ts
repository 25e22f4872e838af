import fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BusFixture } from './test-support.js';

const fixture = new BusFixture();
afterEach(() => fixture.cleanup());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('bus generation', () => {
  it('a bus folder created from scratch gets a new random id, stored in bus.json', async () => {
    const first = await fixture.open({ dir: fixture.tempDir() });
    const second = await fixture.open({ dir: fixture.tempDir() });
    expect(first.generation).toMatch(UUID);
    expect(second.generation).toMatch(UUID);
    expect(first.generation).not.toBe(second.generation);
    expect(JSON.parse(fs.readFileSync(join(first.dir, 'bus.json'), 'utf8'))).toMatchObject({
      generation: first.generation,
    });
    expect(fs.existsSync(join(first.dir, 'bus.json.tmp'))).toBe(false);
  });

  it('a reopened bus keeps its id', async () => {
    const dir = fixture.tempDir();
    const bus = await fixture.open({ dir });
    await bus.ensureTopic('t', { partitions: 1 });
    const generation = bus.generation;
    await bus.close();
    const reopened = await fixture.open({ dir });
    expect(reopened.generation).toBe(generation);
    // A lost bus (the folder replaced by an empty one) is a new generation.
    await reopened.close();
    fs.rmSync(dir, { recursive: true });
    fs.mkdirSync(dir);
    expect((await fixture.open({ dir })).generation).not.toBe(generation);
  });
});
