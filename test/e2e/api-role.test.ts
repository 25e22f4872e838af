/**
 * `cityhub run --role api` as an operator runs it: its own process, reading the marts file a demo run built, serving
 * a token from config by its hash, auditing pulls under the data dir, and stopping cleanly on SIGTERM.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenHash } from '../../pipelines/api/tokens.js';
import { freePorts, runCli, startCli, tempDir, writeConfig } from '../support/hub-process.js';

let dir: Awaited<ReturnType<typeof tempDir>> | undefined;
afterEach(async () => {
  await dir?.remove();
  dir = undefined;
});

describe('cityhub run --role api', () => {
  it('serves the marts a demo run built to a token from config, audits the pull, and stops on SIGTERM', async () => {
    dir = await tempDir('api-role');
    const token = 'a-province-token-of-32-characters-x';
    const [port] = await freePorts(1);
    const config = {
      region_code: '330000',
      data_dir: 'data',
      privacy: { salt: 'api-role-test-salt-0123' },
      connectors: [{ id: 'demo', kind: 'demo', live: false, months: 1, scale: 0.2 }],
      api: {
        listen: `127.0.0.1:${port}`,
        tokens: [{ id: 'zhejiang', sha256: tokenHash(token), regions: ['33'] }],
      },
    };
    const file = await writeConfig(dir.path, config);
    const built = await runCli(['run', '--config', file, '--role', 'all', '--for', '8s'], { timeoutMs: 240_000 });
    expect(built.code, built.stderr).toBe(0);
    // Role all listened too, since a token is configured.
    expect(built.stdout).toMatch(new RegExp(`api listening on http://127\\.0\\.0\\.1:${port}`));

    const api = startCli(['run', '--config', file, '--role', 'api']);
    await api.waitFor(/api listening on/);
    const base = `http://127.0.0.1:${port}`;
    const denied = await fetch(`${base}/api/v1/aggregates`);
    expect(denied.status).toBe(401);
    const response = await fetch(`${base}/api/v1/aggregates?indicator=data_sharing_rate&grain=month&region=330000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { snapshot_id: string; rows: Record<string, unknown>[] };
    expect(body.rows.length).toBeGreaterThan(0);
    expect(body.rows.every((r) => r.indicator_code === 'data_sharing_rate' && r.region_code === '330000')).toBe(true);

    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    const auditDir = join(dir.path, 'data', 'audit', 'api');
    const [day] = await readdir(auditDir);
    const [auditFile] = await readdir(join(auditDir, day!));
    const audit = await readFile(join(auditDir, day!, auditFile!), 'utf8');
    expect(audit).not.toContain(token);
    const entries = audit
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries).toContainEqual(expect.objectContaining({ token_id: null, status: 401 }));
    expect(entries).toContainEqual(
      expect.objectContaining({
        token_id: 'zhejiang',
        status: 200,
        rows: body.rows.length,
        route: '/api/v1/aggregates',
      }),
    );
    for (const output of [api.stdout(), api.stderr(), built.stdout, built.stderr]) expect(output).not.toContain(token);
  });
});
