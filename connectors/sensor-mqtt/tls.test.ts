import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TlsFileError } from '../../pipelines/tls-files.js';
import { sensorMqttConnectorConfig } from './config.js';
import { landed, MqttRig, silent } from './testing.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => readFileSync(join(here, 'fixtures', name));
const waitLong = { timeout: 20_000, interval: 10 };

/** The broker's side: its certificate for 127.0.0.1, signed by the private test CA. */
const serverTls = { cert: fixture('server.pem'), key: fixture('server.key') };
/** Requires a client certificate signed by the same CA (mutual TLS). */
const mutualServerTls = { ...serverTls, ca: fixture('ca.pem'), requestCert: true, rejectUnauthorized: true };
const devicesTrustTheCa = {
  ca: fixture('ca.pem'),
  cert: fixture('client.pem'),
  key: fixture('client.key'),
};

let rig: MqttRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

/** An mqtts:// rig whose connectors resolve relative tls files against this folder (as against a config's). */
function tlsRig(tls: object = serverTls): Promise<MqttRig> {
  return MqttRig.open({ tls, publisherTls: devicesTrustTheCa, baseDir: here });
}

describe('sensor-mqtt over TLS (mqtts://) with a private CA', () => {
  it('trusts the CA of tls.ca_file (relative to the config): connects, appends, then acknowledges', async () => {
    rig = await tlsRig();
    expect(rig.peer.url).toMatch(/^mqtts:\/\//);
    const connector = await rig.connector({ tls: { ca_file: 'fixtures/ca.pem' } });
    await vi.waitFor(() => expect(connector.health().progress?.connected).toBe(1), waitLong);
    const device = await rig.publisher();
    await device.publishAsync('city/340104/HF-P-001/reading', 'over-tls', { qos: 1 });
    await vi.waitFor(() => expect(rig!.acked).toEqual(['over-tls']), waitLong);
    expect((await landed(rig.bus)).map((m) => m.value)).toEqual(['over-tls']);
    await connector.stop();
    expect(connector.health()).toMatchObject({ state: 'stopped', sent: { sensor: 1 } });
  });

  for (const [what, tls] of [
    ['without tls.ca_file (only publicly trusted CAs)', undefined],
    ['with another CA in tls.ca_file', { ca_file: 'fixtures/other-ca.pem' }],
  ] as const) {
    it(`${what}: reports the certificate error in health and retries with backoff, appending nothing`, async () => {
      rig = await tlsRig();
      const connector = await rig.connector(tls ? { tls } : {});
      await vi.waitFor(() => {
        const health = connector.health();
        expect(health.state).toBe('running');
        expect(health.progress?.connected).toBe(0);
        expect(health.error).toMatch(
          /mqtt broker mqtts:\/\/127\.0\.0\.1:\d+ .*(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE).*attempt ([2-9]|\d{2,}), reconnecting in \d+ ms/,
        );
      }, waitLong);
      await connector.stop();
      expect(connector.health().progress?.connects).toBe(0);
      expect(await landed(rig.bus)).toEqual([]);
    });
  }

  it('presents tls.cert_file/key_file to a broker that requires a client certificate (mutual TLS)', async () => {
    rig = await tlsRig(mutualServerTls);
    const connector = await rig.connector({
      tls: { ca_file: 'fixtures/ca.pem', cert_file: 'fixtures/client.pem', key_file: 'fixtures/client.key' },
    });
    await vi.waitFor(() => expect(connector.health().progress?.connected).toBe(1), waitLong);
    const device = await rig.publisher();
    await device.publishAsync('city/340104/HF-P-001/reading', 'mutual', { qos: 1 });
    await vi.waitFor(() => expect(rig!.acked).toEqual(['mutual']), waitLong);
    await connector.stop();
  });

  it('without a client certificate, a broker requiring one refuses it: health says so and it keeps retrying', async () => {
    rig = await tlsRig(mutualServerTls);
    const connector = await rig.connector({ tls: { ca_file: 'fixtures/ca.pem' } });
    await vi.waitFor(() => {
      expect(connector.health().error).toMatch(/mqtts:\/\/.*certificate required.*attempt ([2-9]|\d{2,})/);
    }, waitLong);
    expect(connector.health().progress?.connects).toBe(0);
    await connector.stop();
  });

  it('fails start at once when a tls file cannot be read, naming the key and the file', async () => {
    rig = await tlsRig();
    const failing = rig.connector({ tls: { ca_file: 'fixtures/missing-ca.pem' } });
    await expect(failing).rejects.toBeInstanceOf(TlsFileError);
    await expect(failing).rejects.toThrow(/tls\.ca_file: .*fixtures\/missing-ca\.pem cannot be read \(ENOENT\)/);
    await expect(rig.connector({ tls: { ca_file: 'fixtures/README.md' } })).rejects.toThrow(
      /tls\.ca_file: .*README\.md holds no PEM block/,
    );
  });

  it('with tls.reject_unauthorized false connects to an untrusted broker, and warns at start', async () => {
    rig = await tlsRig();
    const warn = vi.spyOn(silent, 'warn');
    try {
      const connector = await rig.connector({ tls: { reject_unauthorized: false } });
      await vi.waitFor(() => expect(connector.health().progress?.connected).toBe(1), waitLong);
      expect(warn).toHaveBeenCalledWith(
        expect.objectContaining({ connector: 'sensors' }),
        expect.stringMatching(/reject_unauthorized is false.*not authenticated/),
      );
      await connector.stop();
    } finally {
      warn.mockRestore();
    }
  });
});

describe('sensor-mqtt tls config', () => {
  const base = { id: 's', kind: 'sensor-mqtt', client_id: 'hub', topics: ['city/#'] };
  it('accepts tls only with an mqtts:// url, and a client certificate only with its key', () => {
    expect(
      sensorMqttConnectorConfig.parse({ ...base, url: 'mqtts://broker:8883', tls: { ca_file: 'ca.pem' } }).tls,
    ).toEqual({ ca_file: 'ca.pem', reject_unauthorized: true });
    const plain = sensorMqttConnectorConfig.safeParse({
      ...base,
      url: 'mqtt://broker:1883',
      tls: { ca_file: 'ca.pem' },
    });
    expect(plain.error?.issues).toEqual([
      expect.objectContaining({ path: ['tls'], message: expect.stringMatching(/only used with an mqtts:\/\/ url/) }),
    ]);
    const halfPair = sensorMqttConnectorConfig.safeParse({
      ...base,
      url: 'mqtts://broker',
      tls: { cert_file: 'client.pem' },
    });
    expect(halfPair.error?.issues).toEqual([
      expect.objectContaining({
        path: ['tls', 'key_file'],
        message: expect.stringMatching(/both cert_file and key_file/),
      }),
    ]);
    expect(
      sensorMqttConnectorConfig.safeParse({ ...base, url: 'mqtts://broker', tls: { cafile: 'ca.pem' } }).success,
    ).toBe(false);
  });
});
