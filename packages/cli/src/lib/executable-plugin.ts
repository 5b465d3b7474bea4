import { spawn } from 'node:child_process';
import { AuthenticationFailedError, type Identity, type Recipient, type Stanza, type WrapContext } from '@ovseal/container';
import { PluginError } from './plugin-error.js';

/** Version of the JSON exchanged with `ovseal-plugin-SCHEME` executables (packages/cli/README.md). */
export const PLUGIN_PROTOCOL_VERSION = 1;

/** A plugin that does not answer within this time is stopped (a hardware key may wait for a touch). */
const PLUGIN_TIMEOUT_MS = 10 * 60_000;

/** Answers larger than this are refused before they are parsed. */
const MAX_ANSWER_BYTES = 1024 * 1024;

interface StanzaJson {
  type: string;
  args: string[];
  body: string;
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function contextJson(context: WrapContext) {
  return {
    containerId: Buffer.from(context.containerId).toString('hex'),
    modelName: context.modelName,
    modelVersion: context.modelVersion,
    aad: b64(context.aad),
    encryptionContext: context.encryptionContext,
  };
}

/** Runs `executable COMMAND` with one JSON document on stdin; returns the JSON document it printed. */
function exchange(executable: string, command: 'wrap' | 'unwrap', request: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, [command], { stdio: ['pipe', 'pipe', 'inherit'], timeout: PLUGIN_TIMEOUT_MS });
    const chunks: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ANSWER_BYTES) child.kill('SIGKILL');
      else chunks.push(chunk);
    });
    child.once('error', (cause) => reject(new PluginError('ERR_PLUGIN_LOAD', `cannot run ${executable}: ${cause.message}`, { cause })));
    child.once('close', (status, signal) => {
      let answer: Record<string, unknown> | undefined;
      try {
        answer = size > MAX_ANSWER_BYTES ? undefined : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      } catch {
        answer = undefined;
      }
      const reported = answer?.['error'] as { code?: unknown; message?: unknown } | undefined;
      if (reported && typeof reported === 'object') return reject(reportedError(executable, reported));
      if (status !== 0 || signal)
        return reject(
          new PluginError(
            'ERR_PLUGIN_FAILED',
            `${executable} ${command} ${signal ? `was stopped (${signal})` : `exited with status ${status}`}`,
          ),
        );
      if (!answer || typeof answer !== 'object')
        return reject(new PluginError('ERR_PLUGIN_PROTOCOL', `${executable} ${command} did not print one JSON object`));
      resolve(answer);
    });
    child.stdin.on('error', () => undefined); // a plugin that exits without reading: reported by 'close'
    child.stdin.end(JSON.stringify({ version: PLUGIN_PROTOCOL_VERSION, ...request }));
  });
}

function reportedError(executable: string, reported: { code?: unknown; message?: unknown }): Error {
  const code = typeof reported.code === 'string' ? reported.code : undefined;
  const message = typeof reported.message === 'string' ? reported.message : 'no message';
  // A stanza of the plugin's key that does not open is the one answer every provider gives.
  if (code === 'ERR_AUTHENTICATION_FAILED') return new AuthenticationFailedError({ cause: new Error(`${executable}: ${message}`) });
  return new PluginError('ERR_PLUGIN_FAILED', `${executable}: ${code ? `${code}: ` : ''}${message}`, code ? { pluginCode: code } : {});
}

function bytesOf(value: unknown, what: string, executable: string): Uint8Array {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value))
    throw new PluginError('ERR_PLUGIN_PROTOCOL', `${executable}: ${what} is not base64`);
  return new Uint8Array(Buffer.from(value, 'base64'));
}

function stanzaOf(value: unknown, executable: string): Stanza {
  const stanza = value as Partial<StanzaJson> | null;
  if (!stanza || typeof stanza.type !== 'string' || !Array.isArray(stanza.args) || !stanza.args.every((arg) => typeof arg === 'string')) {
    throw new PluginError('ERR_PLUGIN_PROTOCOL', `${executable}: a stanza is { type, args: string[], body: base64 }`);
  }
  return { type: stanza.type, args: [...stanza.args], body: bytesOf(stanza.body, 'a stanza body', executable) };
}

/** `-r SCHEME:…` answered by an `ovseal-plugin-SCHEME` executable (`wrap`). */
export class ExecutableRecipient implements Recipient {
  constructor(
    readonly executable: string,
    readonly uri: string,
  ) {}

  async wrap(dataKey: Uint8Array, context: WrapContext): Promise<Stanza[]> {
    const answer = await exchange(this.executable, 'wrap', { uri: this.uri, dataKey: b64(dataKey), context: contextJson(context) });
    const stanzas = answer['stanzas'];
    if (!Array.isArray(stanzas) || stanzas.length === 0)
      throw new PluginError('ERR_PLUGIN_PROTOCOL', `${this.executable} wrap answered no stanzas`);
    return stanzas.map((stanza) => stanzaOf(stanza, this.executable));
  }
}

/** `-i SCHEME:…` answered by an `ovseal-plugin-SCHEME` executable (`unwrap`; `null` data key: not mine). */
export class ExecutableIdentity implements Identity {
  constructor(
    readonly executable: string,
    readonly uri: string,
  ) {}

  async unwrap(stanzas: readonly Stanza[], context: WrapContext): Promise<Uint8Array | null> {
    const request = {
      uri: this.uri,
      stanzas: stanzas.map((s) => ({ type: s.type, args: s.args, body: b64(s.body) })),
      context: contextJson(context),
    };
    const answer = await exchange(this.executable, 'unwrap', request);
    if (answer['dataKey'] === null) return null;
    const dataKey = bytesOf(answer['dataKey'], 'dataKey', this.executable);
    if (dataKey.length !== 32)
      throw new PluginError('ERR_PLUGIN_PROTOCOL', `${this.executable} unwrap answered a data key of ${dataKey.length} bytes, not 32`);
    return dataKey;
  }
}
