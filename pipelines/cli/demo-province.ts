/**
 * `cityhub run --demo province`: three city hubs and a province hub on loopback, each its own process, so a newcomer
 * watches federation work (README.md "Provincial demo"). This process writes their configs, starts the cities,
 * starts the province once every city has published its marts, shows everyone's output under their names and the
 * province's roll-up as the national platform pulls it, and stops them all together.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { newToken } from '../api/tokens.js';
import { bundledRegionsPath, loadCatalogFile } from '../catalogs/load.js';
import { loadConfig } from '../config/load.js';
import { preflight } from '../config/preflight.js';
import { waitForLandedData, watchRollUp } from '../demo/api-watch.js';
import { freeLoopbackPorts } from '../demo/free-ports.js';
import { type HubChild, type HubExit, startHubChild } from '../demo/hub-child.js';
import {
  DEMO_PROVINCE_CODE,
  DEMO_PROVINCE_ID,
  type DemoHubPlan,
  demoCities,
  demoFederation,
  memberTokenEnv,
  provinceDemoPlan,
} from '../demo/province-plan.js';
import { CityhubError, UsageError } from '../errors.js';

/** The demos `run --demo` knows. */
export const demoNames = ['province'] as const;

/** A hub of the demo ended while the demo was running (not asked to stop). */
export class DemoHubDiedError extends CityhubError {
  constructor(
    readonly hub: string,
    readonly exit: HubExit,
  ) {
    super(`hub ${hub} ended unexpectedly (${describeExit(exit)})`);
  }
}

export interface DemoIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Where the demo writes: `<cwd>/data/demo-province`, beside the demo city's own `data/` folders. */
export function provinceDemoFolder(cwd: string): string {
  return resolve(cwd, 'data', 'demo-province');
}

/** `run --demo NAME`: the one demo there is, or a usage error listing them. */
export async function runDemo(name: string, forMs: number | undefined, io: DemoIo): Promise<number> {
  if (!(demoNames as readonly string[]).includes(name))
    throw new UsageError(`--demo must be one of: ${demoNames.join(', ')} (got ${JSON.stringify(name)})`);
  return runProvinceDemo({ folder: provinceDemoFolder(process.cwd()), forMs, io });
}

function describeExit(exit: HubExit): string {
  return exit.signal === null ? `exit code ${exit.code}` : `signal ${exit.signal}`;
}

export async function runProvinceDemo(o: { folder: string; forMs: number | undefined; io: DemoIo }): Promise<number> {
  const { folder, io } = o;
  const hubIds = [...demoCities.map((c) => c.id), DEMO_PROVINCE_ID];
  // Every line says whose it is, aligned: `[hangzhou] …`, `[province] …`, and this process's own `[demo] …`.
  const width = Math.max(...hubIds.map((id) => id.length)) + 3;
  const prefixOf = (id: string) => `[${id}]`.padEnd(width);
  const say = (line: string) => io.out(`${prefixOf('demo')}${line}`);
  const ports = await freeLoopbackPorts(hubIds.length);
  // Fresh tokens each run: the configs keep their SHA-256 only; the cities' tokens reach the province through its
  // environment, the national one is printed for you to pull the province with.
  const memberTokens = Object.fromEntries(demoCities.map((c) => [c.id, newToken()]));
  const national = newToken();
  const plan = provinceDemoPlan({
    folder,
    ports: Object.fromEntries(hubIds.map((id, i) => [id, ports[i]!])),
    memberTokenHashes: Object.fromEntries(Object.entries(memberTokens).map(([id, t]) => [id, t.sha256])),
    nationalTokenHash: national.sha256,
    regions: loadCatalogFile('regions', bundledRegionsPath()),
  });
  await mkdir(folder, { recursive: true });
  for (const [path, text] of plan.files) await writeFile(path, text);
  const provinceEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...Object.fromEntries(demoCities.map((c) => [memberTokenEnv(c.id), memberTokens[c.id]!.token])),
  };
  // What `run` would refuse is refused now, before any hub starts (each hub checks again when it starts).
  for (const hub of [...plan.cities, plan.province]) preflight(loadConfig(hub.configFile, provinceEnv));

  say(`provincial demo in ${folder}: configs, each hub's data folder, the cities' region catalogs`);
  for (const hub of [...plan.cities, plan.province])
    say(`  ${hub.id.padEnd(width - 2)} ${hub.label.padEnd(12)} api ${hub.apiUrl}  config ${basename(hub.configFile)}`);
  const rollUpUrl = `${plan.province.apiUrl}api/v1/aggregates?indicator=data_sharing_rate&grain=month`;
  say(`pull the province's roll-up as the national platform does (token made for this run):`);
  say(`  curl -H 'Authorization: Bearer ${national.token}' '${rollUpUrl}'`);
  say(`  curl -H 'Authorization: Bearer ${national.token}' '${plan.province.apiUrl}api/v1/snapshots/current'`);
  say(
    `the cities land their history and build their marts; the province starts once each one's marts hold its data and pulls them every ${describeSchedule(demoFederation.schedule)}. Ctrl-C stops all of them.`,
  );

  const children: HubChild[] = [];
  const stop = new AbortController();
  let died: DemoHubDiedError | undefined;
  const start = (hub: DemoHubPlan, env: NodeJS.ProcessEnv): HubChild => {
    const child = startHubChild({
      id: hub.id,
      args: ['run', '--config', hub.configFile],
      cwd: folder,
      env,
      prefix: prefixOf(hub.id),
      out: io.out,
      err: io.err,
    });
    children.push(child);
    say(`${hub.id} started: pid ${child.process.pid}`);
    void child.exited.then((exit) => {
      if (child.stopping || stop.signal.aborted) return;
      died ??= new DemoHubDiedError(hub.id, exit);
      say(`${hub.id} ended unexpectedly (${describeExit(exit)}): stopping the others`);
      stop.abort();
    });
    return child;
  };

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      say(`${signal}: stopping every hub (each drains, builds its marts and prints its summary; again to force)`);
      stop.abort();
      return;
    }
    say(`${signal} again: killing the hubs still running (what they did not land stays on their bus)`);
    for (const child of children) child.kill();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Should this process itself end abruptly, its hubs must not outlive it.
  const killAll = () => {
    for (const child of children) child.kill();
  };
  process.once('exit', killAll);
  const timer = o.forMs === undefined ? undefined : setTimeout(() => stop.abort(), o.forMs);

  try {
    const cities = plan.cities.map((city) => start(city, process.env));
    const watching: Promise<void>[] = [];
    const ready = await Promise.all(
      plan.cities.map(async (city) => {
        const isReady = await waitForLandedData(city.apiUrl, memberTokens[city.id]!.token, stop.signal);
        if (isReady) say(`${city.id} has published marts with its data: its api ${city.apiUrl} is ready`);
        return isReady;
      }),
    );
    if (ready.every(Boolean) && !stop.signal.aborted) {
      say(
        'every city is ready: starting the province, which pulls them now and then on its schedule. It lands no data of its own (its own report says so): its figures are the roll-up shown here',
      );
      start(plan.province, provinceEnv);
      watching.push(
        watchRollUp({
          apiUrl: plan.province.apiUrl,
          token: national.token,
          regionCode: DEMO_PROVINCE_CODE,
          signal: stop.signal,
          print: say,
        }),
      );
    }
    await new Promise<void>((resolveStop) => {
      if (stop.signal.aborted) resolveStop();
      else stop.signal.addEventListener('abort', () => resolveStop(), { once: true });
    });
    // The province first, so its last pull and build see every city still up; then the cities, all at once.
    const province = children.find((c) => c.id === DEMO_PROVINCE_ID);
    province?.stop();
    await province?.exited;
    for (const city of cities) city.stop();
    const exits = await Promise.all(children.map(async (c) => ({ id: c.id, exit: await c.exited })));
    await Promise.all(watching);
    for (const { id, exit } of exits) say(`${id} ended (${describeExit(exit)})`);
    if (died !== undefined) {
      io.err(`${prefixOf('demo')}${died.message}`);
      return 1;
    }
    const failed = exits.filter(({ exit }) => exit.code !== 0);
    if (failed.length > 0) {
      say(`not every hub ended cleanly: ${failed.map(({ id }) => id).join(', ')}`);
      return 1;
    }
    say('every hub ended cleanly');
    return 0;
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', killAll);
    // Only reached with hubs still running when something above threw: they go with this process.
    killAll();
  }
}

/** `*\/15 * * * * *` → `15 s`, for the start message; any other schedule as written. */
function describeSchedule(schedule: string): string {
  const every = /^\*\/(\d+) \* \* \* \* \*$/.exec(schedule);
  return every === null ? `on ${schedule}` : `${every[1]} s`;
}
