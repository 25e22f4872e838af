#!/usr/bin/env node
// Our build machines reach an npm registry mirror that holds only Linux builds of platform packages, so
// `npm install` there leaves the other platforms' optional dependencies (Biome's and DuckDB's binaries) out of
// package-lock.json, and `npm ci` then refuses the lock as out of sync. This adds the missing entries, with the
// os/cpu/libc that their names state, so the lock is what npm writes against the full registry (minus integrity,
// which npm records on first install there). Run it after every `npm install` made on such a machine.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages;

function platformOf(name) {
  const suffix = name.slice(name.lastIndexOf('/') + 1);
  const os = ['darwin', 'linux', 'win32', 'android', 'freebsd'].find((o) => suffix.includes(`-${o}-`));
  const cpu = ['arm64', 'x64', 'ia32', 'arm'].find((c) => suffix.includes(`-${c}`));
  if (!os || !cpu) return undefined;
  return { cpu: [cpu], ...(os === 'linux' ? { libc: [suffix.endsWith('-musl') ? 'musl' : 'glibc'] } : {}), os: [os] };
}

let added = 0;
for (const [key, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${name}`;
    if (packages[target]) continue;
    const platform = platformOf(name);
    if (!platform) throw new Error(`${key}: optional dependency ${name} is missing and is not a platform package`);
    packages[target] = {
      version,
      ...(entry.dev ? { dev: true } : {}),
      ...(entry.license ? { license: entry.license } : {}),
      optional: true,
      ...platform,
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b, 'en'))),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: added ${added} platform entries`);
