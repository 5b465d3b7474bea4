// BrokerClient's failover over a list of brokers, against small HTTP servers in this process that
// answer like brokers do (unreachable, 503, a refusal, a success): which broker is tried, in which
// order, and that a retried key request keeps its request id.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWrapContext } from '@ovseal/container';
import { challengeWrapFields, stanzaToJson } from '@ovseal/broker-protocol';
import { SoftwareEcdhIdentity, TpmEcdhRecipient } from '@ovseal/key-tpm';
import { BrokerClient } from '../src/index.js';

const identity = new SoftwareEcdhIdentity(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
const servers: Server[] = [];

/** A fake broker: answers challenges properly (wrapped to the device key), key requests with `status`. */
async function fakeBroker(status: number, seen: { url: string; body: string }[]): Promise<string> {
  const recipient = new TpmEcdhRecipient(identity.publicKeyPem);
  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    seen.push({ url: req.url ?? '', body });
    if (req.url === '/v1/challenges') {
      const nonce = randomBytes(24).toString('base64url');
      const [stanza] = await recipient.wrap(randomBytes(32), createWrapContext(challengeWrapFields(nonce, 'edge-1')));
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(JSON.stringify({ deviceId: 'edge-1', nonce, expiresAt: new Date().toISOString(), stanza: stanzaToJson(stanza!) }));
      return;
    }
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(
        JSON.stringify(
          status === 200
            ? { models: [], deviceId: 'edge-1', model: 'm@1' }
            : { error: status === 503 ? 'store_unavailable' : 'not_granted', message: 'x' },
        ),
      );
  };
  const server = createServer((req, res) => void answer(req, res));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('BrokerClient failover', () => {
  it('skips an unreachable broker and one answering 503, then sticks to the one that answered', async () => {
    const seen: { url: string; body: string }[][] = [[], []];
    const down = await fakeBroker(503, seen[0]!);
    const up = await fakeBroker(200, seen[1]!);
    const attempts: string[] = [];
    const client = new BrokerClient({
      brokerUrls: ['http://127.0.0.1:9', down, up],
      deviceId: 'edge-1',
      identity,
      onAttempt: (url, outcome) => attempts.push(`${url === up ? 'up' : url === down ? 'down' : 'dead'}:${outcome}`),
    });
    await client.listModels();
    expect(attempts).toEqual(['dead:unavailable', 'down:unavailable', 'up:ok']);
    expect(client.failovers).toBe(2);
    expect(client.currentBroker).toBe(up);
    await client.listModels();
    expect(attempts.slice(3)).toEqual(['up:ok']);
  });

  it('a retried key request carries the same request id to every broker it tries', async () => {
    const seen: { url: string; body: string }[][] = [[], []];
    const down = await fakeBroker(503, seen[0]!);
    const up = await fakeBroker(200, seen[1]!);
    const client = new BrokerClient({ brokerUrls: [down, up], deviceId: 'edge-1', identity });
    await client.requestKey('m@1', 'request-id-0001');
    const bodies = [...seen[0]!, ...seen[1]!]
      .filter((request) => request.url.endsWith('/key'))
      .map((request) => JSON.parse(request.body) as { requestId: string });
    expect(bodies).toEqual([{ requestId: 'request-id-0001' }, { requestId: 'request-id-0001' }]);
  });

  it("a refusal (4xx) is the fleet's answer: not retried on another broker", async () => {
    const seen: { url: string; body: string }[][] = [[], []];
    const refusing = await fakeBroker(403, seen[0]!);
    const other = await fakeBroker(200, seen[1]!);
    const client = new BrokerClient({ brokerUrls: [refusing, other], deviceId: 'edge-1', identity });
    await expect(client.requestKey('m@1')).rejects.toMatchObject({ code: 'ERR_BROKER_REFUSED', status: 403, brokerCode: 'not_granted' });
    expect(seen[1]).toEqual([]);
  });

  it('every broker down: the last failure, typed', async () => {
    const client = new BrokerClient({
      brokerUrls: ['http://127.0.0.1:9', 'http://127.0.0.1:7'],
      deviceId: 'edge-1',
      identity,
      timeoutMs: 2000,
    });
    await expect(client.listModels()).rejects.toMatchObject({ code: 'ERR_BROKER_UNREACHABLE' });
    expect(() => new BrokerClient({ brokerUrls: [], deviceId: 'edge-1', identity })).toThrow(/at least one broker/);
  });
});
