/**
 * docker-compose.yml and the Dockerfile (issue 9, item 6). No Docker engine runs here, so this checks what Docker
 * would be given: the compose model, the image's stages and build context, and — by running the real
 * `cityhub config check` — that the configuration each cityhub service receives is one the hub accepts.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { projectRoot, runCli, tempDir } from '../support/hub-process.js';
import {
  type ComposeService,
  composeText,
  dockerignorePatterns,
  interpolate,
  MissingVariableError,
  parseMount,
  readCompose,
  readDockerfile,
  readEnvFile,
  serviceEnvironment,
  variableReferences,
} from './compose-file.js';

const compose = readCompose();
const services = compose.services;
const exampleEnv = readEnvFile(join(projectRoot, 'deploy/cityhub.env.example'));
const roles = ['connectors', 'pipeline', 'models'];
/** Where the image keeps the app (its WORKDIR): container paths under it map to a temp folder in the tests. */
const appDir = '/app';

/** The services built from the project's Dockerfile: the cityhub roles. */
const cityhubServices = Object.entries(services).filter(([, s]) => {
  const build = typeof s.build === 'string' ? { context: s.build } : s.build;
  return build?.context === '.' && (build.dockerfile ?? 'Dockerfile') === 'Dockerfile';
});

const commandOf = (service: ComposeService) =>
  Array.isArray(service.command) ? service.command : (service.command ?? '').split(/\s+/);

/** The .env a user writes from the example: every value filled in, as `openssl rand -hex 32` would. */
function filledEnv(): Map<string, string> {
  return new Map([...exampleEnv.keys()].map((key) => [key, randomBytes(32).toString('hex')]));
}

/** Secret-looking variable names: keys, secrets, passwords, tokens, the MinIO admin user. */
const secretName = /KEY|SECRET|PASSWORD|TOKEN|_USER\b/;

describe('Dockerfile', () => {
  const stages = readDockerfile();
  const runtime = stages.at(-1)!;
  const args = (keyword: string) => runtime.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

  it('is multi-stage on node:20-bookworm-slim: a build stage compiles, the runtime gets dist/ from it', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.from).toBe('node:20-bookworm-slim');
    const build = stages[0]!;
    const buildRuns = build.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(buildRuns.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(buildRuns.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
    expect(args('COPY')).toContainEqual(expect.stringMatching(new RegExp(`^--from=${build.name} \\S*/dist dist$`)));
  });

  it('installs production dependencies only, without the prepare script that needs typescript', () => {
    const installs = args('RUN').filter((r) => /\bnpm (ci|install)\b/.test(r));
    expect(installs).toHaveLength(1);
    expect(installs[0]).toMatch(/npm ci --omit=dev --ignore-scripts/);
  });

  it('runs as a non-root user with cityhub as the entrypoint and the data dir on a volume', () => {
    const user = args('USER').at(-1);
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user!.split(':')[0]);
    expect(args('WORKDIR').at(-1)).toBe(appDir);
    expect(JSON.parse(args('ENTRYPOINT').at(-1)!)).toEqual(['node', `${appDir}/bin/cityhub.js`]);
    expect(JSON.parse(args('CMD').at(-1)!)).toEqual(['run', '--role', 'all']);
    expect(args('VOLUME').join(' ')).toContain(`${appDir}/data`);
  });

  it('copies everything the built CLI reads at run time (pipelines/package-root.ts: the package root)', () => {
    const copied = args('COPY')
      .filter((a) => !a.startsWith('--from'))
      .flatMap((a) => a.split(/\s+/).slice(0, -1));
    // bin/cityhub.js → dist/; package.json marks the root; sql/ holds the models and the bundled regions;
    // mappings/ the built-in source mappings (pipelines/mapping/load.ts).
    for (const needed of ['package.json', 'package-lock.json', 'bin', 'sql', 'mappings'])
      expect(copied).toContain(needed);
  });

  it('.dockerignore keeps local installs, builds, data and secrets out, and nothing the Dockerfile copies', () => {
    const patterns = dockerignorePatterns();
    const ignored = (path: string) => patterns.some((p) => p.matches(path));
    for (const path of ['node_modules', 'dist', 'data', '.git', '.env', 'data/lake/x.parquet'])
      expect(ignored(path)).toBe(true);
    const copiedFromContext = stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const path of copiedFromContext) expect(ignored(path), `${path} is copied but ignored`).toBe(false);
  });
});

describe('docker-compose.yml', () => {
  it('runs Kafka in KRaft mode with a listener for the services and one reachable from the host', () => {
    const kafka = Object.values(services).find((s) => s.image?.startsWith('apache/kafka'));
    expect(kafka).toBeDefined();
    const env = Object.fromEntries(Object.entries(kafka!.environment ?? {}).map(([k, v]) => [k, String(v)]));
    expect(env.KAFKA_PROCESS_ROLES?.split(',').sort()).toEqual(['broker', 'controller']);
    expect(env.KAFKA_ZOOKEEPER_CONNECT).toBeUndefined();
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toMatch(/^\d+@[\w.-]+:\d+$/);
    // KRaft formats its log dir with the cluster id: a base64 UUID (16 bytes).
    expect(Buffer.from(env.CLUSTER_ID ?? '', 'base64url')).toHaveLength(16);

    const listeners = (value: string | undefined) =>
      new Map(
        (value ?? '').split(',').map((l) => {
          const [, name, host, port] = /^(\w+):\/\/([^:]*):(\d+)$/.exec(l.trim()) ?? [];
          return [name!, { host: host!, port: Number(port) }];
        }),
      );
    const bound = listeners(env.KAFKA_LISTENERS);
    const advertised = listeners(env.KAFKA_ADVERTISED_LISTENERS);
    const protocols = new Set((env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? '').split(',').map((p) => p.split(':')[0]));
    const controller = env.KAFKA_CONTROLLER_LISTENER_NAMES!;
    expect(bound.has(controller)).toBe(true);
    expect(advertised.has(controller)).toBe(false);
    for (const name of [...bound.keys()]) expect(protocols.has(name), `${name} has a security protocol`).toBe(true);
    for (const [name, { port }] of advertised) expect(bound.get(name)?.port, `${name} is bound`).toBe(port);

    // The services reach the broker by its service name, and what it advertises there is that name.
    const internal = [...advertised.values()].find((l) => l.host === 'kafka');
    expect(internal).toBeDefined();
    const brokers = new Set(cityhubServices.map(([, s]) => s.environment?.CITYHUB_KAFKA_BROKERS));
    expect([...brokers]).toEqual([`kafka:${internal!.port}`]);
    // The host reaches it at localhost:<published port>, which is what it advertises on that listener.
    const host = [...advertised.values()].find((l) => l.host === 'localhost');
    expect(host).toBeDefined();
    const published = (kafka!.ports ?? []).map((p) => p.split(':').map(Number).slice(-2));
    expect(published).toContainEqual([host!.port, host!.port]);
    expect(kafka!.healthcheck?.test).toBeDefined();
  });

  it('creates the lake bucket in MinIO with a one-shot mc service before any cityhub role starts', () => {
    const [minioName, minio] = Object.entries(services).find(([, s]) => s.image?.startsWith('minio/minio'))!;
    expect(minio.healthcheck?.test).toBeDefined();
    const [initName, init] = Object.entries(services).find(([, s]) => s.image?.startsWith('minio/mc'))!;
    expect(init.depends_on).toMatchObject({ [minioName]: { condition: 'service_healthy' } });
    const script = [init.entrypoint, init.command].flat().join('\n');
    expect(script).toMatch(/mc mb --ignore-existing "?local\/\$\$CITYHUB_S3_BUCKET"?/);
    // `$$` is left to the container's shell: compose neither fills it nor requires it.
    expect(interpolate(script, new Map())).toMatch(/mc mb --ignore-existing "?local\/\$CITYHUB_S3_BUCKET"?/);
    const buckets = new Set([init, ...cityhubServices.map(([, s]) => s)].map((s) => s.environment?.CITYHUB_S3_BUCKET));
    expect(buckets.size).toBe(1);
    expect([...buckets][0]).toMatch(/^[a-z0-9][a-z0-9.-]{2,62}$/);
    for (const [name, service] of cityhubServices)
      expect(service.depends_on, name).toMatchObject({ [initName]: { condition: 'service_completed_successfully' } });
  });

  it('runs each cityhub role as its own service built from the Dockerfile, with the config mounted read-only', () => {
    expect(cityhubServices.map(([name]) => name).sort()).toEqual([...roles].sort());
    const images = new Set(cityhubServices.map(([, s]) => s.image));
    expect(images.size).toBe(1);
    for (const [name, service] of cityhubServices) {
      const command = commandOf(service);
      expect(command.slice(0, 3)).toEqual(['run', '--role', name]);
      const config = command[command.indexOf('--config') + 1];
      const mount = (service.volumes ?? []).map(parseMount).find((m) => m.target === config);
      expect(mount, `${name} mounts ${config}`).toMatchObject({ source: './deploy/cityhub.yaml', readOnly: true });
    }
  });

  it('gives every pipeline replica a data dir of its own (scaling must not share staging and scratch files)', () => {
    const pipeline = services.pipeline!;
    const dataMounts = (pipeline.volumes ?? []).map(parseMount).filter((m) => m.target === `${appDir}/data`);
    expect(dataMounts).toEqual([]);
  });

  it('has no default for any secret: each is required from .env, and compose refuses to start without it', () => {
    const secrets = variableReferences(composeText()).filter((r) => secretName.test(r.name));
    expect(secrets.length).toBeGreaterThan(0);
    for (const ref of secrets) expect(ref.modifier, ref.text).toBe(':?');
    // No secret written into the file as a literal either.
    for (const [name, service] of Object.entries(services))
      for (const [key, value] of Object.entries(service.environment ?? {}))
        if (secretName.test(key)) expect(String(value), `${name}.environment.${key}`).toMatch(/^\$\{\w+:\?[^}]+\}$/);
    // The example ships no value for any of them, and lists every one compose requires.
    for (const [key, value] of exampleEnv) expect(value, `deploy/cityhub.env.example ${key}`).toBe('');
    expect([...new Set(secrets.map((r) => r.name))].sort()).toEqual([...exampleEnv.keys()].sort());
    for (const missing of exampleEnv.keys()) {
      const env = filledEnv();
      env.delete(missing);
      const service = Object.values(services).find((s) =>
        JSON.stringify(s.environment ?? {}).includes(`\${${missing}:`),
      )!;
      expect(() => serviceEnvironment(service, env)).toThrow(new MissingVariableError(missing));
      env.set(missing, '');
      expect(() => serviceEnvironment(service, env)).toThrow(new MissingVariableError(missing));
    }
  });
});

/**
 * The container's view of a service, in a temp folder standing for /app: each bind mount copied to its target,
 * each volume's mount point created; the config's relative paths (data_dir: ../data) land where they would.
 */
async function containerFiles(service: ComposeService, root: string): Promise<(path: string) => string> {
  const at = (path: string) => join(root, posix.relative(appDir, path));
  for (const mount of (service.volumes ?? []).map(parseMount)) {
    expect(mount.target.startsWith(`${appDir}/`), mount.target).toBe(true);
    if (mount.bind) {
      await mkdir(dirname(at(mount.target)), { recursive: true });
      await copyFile(join(projectRoot, mount.source), at(mount.target));
    } else await mkdir(at(mount.target), { recursive: true });
  }
  return at;
}

/** Every variable deploy/cityhub.yaml reads, empty unless given: the test's own environment must not fill one. */
function configVariables(): Record<string, string> {
  // Its values only, as the hub interpolates them (a comment may mention `${VAR}`).
  const values = JSON.stringify(parse(readFileSync(join(projectRoot, 'deploy/cityhub.yaml'), 'utf8')));
  return Object.fromEntries(variableReferences(values).map((r) => [r.name, '']));
}

describe.each(roles)('the %s service', (role) => {
  const service = services[role]!;
  const configArg = () => {
    const command = commandOf(service);
    return command[command.indexOf('--config') + 1]!;
  };

  it('receives a configuration that `cityhub config check` accepts', async () => {
    const root = await tempDir(`compose-${role}`);
    try {
      const at = await containerFiles(service, root.path);
      const env = { ...configVariables(), ...serviceEnvironment(service, filledEnv()) };
      const result = await runCli(['config', 'check', '--config', at(configArg())], { env, timeoutMs: 120_000 });
      expect(result.stderr).not.toMatch(/invalid config/);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain('bus.type = "kafka"');
      expect(result.stdout).toContain('lake.type = "s3"');
    } finally {
      await root.remove();
    }
  });

  it('fails `cityhub config check` naming a secret the service does not receive', async () => {
    const root = await tempDir(`compose-${role}-missing`);
    try {
      const at = await containerFiles(service, root.path);
      const env = { ...configVariables(), ...serviceEnvironment(service, filledEnv()), CITYHUB_HMAC_KEY: '' };
      const result = await runCli(['config', 'check', '--config', at(configArg())], { env, timeoutMs: 120_000 });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/privacy\.hmac_key.*CITYHUB_HMAC_KEY/);
    } finally {
      await root.remove();
    }
  });
});

it('the example env file names every variable the mounted config needs that compose does not set itself', () => {
  const needed = new Set(Object.keys(configVariables()));
  for (const [name, service] of cityhubServices) {
    const given = new Set(Object.keys(service.environment ?? {}));
    for (const variable of needed) expect(given.has(variable), `${name} gets ${variable}`).toBe(true);
  }
  const fromDotEnv = variableReferences(JSON.stringify(cityhubServices.map(([, s]) => s.environment))).map(
    (r) => r.name,
  );
  for (const variable of fromDotEnv) expect(exampleEnv.has(variable), variable).toBe(true);
});
