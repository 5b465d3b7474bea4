/**
 * Worker thread of the parallel encryptor: encrypts and hashes runs of segments. Both buffers
 * (plaintext in, sealed out) are transferred in and handed back, so they are reused, not copied.
 * Protocol: `init` → `ready`; `task` → `result` | `error`; `close` wipes the key and exits.
 */
import { parentPort } from 'node:worker_threads';
import { encryptSegments, sealTaskOutputLength, type SealTask } from './segment-task.js';

export interface EncryptInitMessage {
  readonly type: 'init';
  readonly key: Uint8Array;
}

export interface EncryptTaskMessage {
  readonly type: 'task';
  readonly id: number;
  readonly task: SealTask;
  /** Plaintext of the run from offset 0. */
  readonly plain: ArrayBuffer;
  /** Where the sealed run goes, from offset 0. */
  readonly sealed: ArrayBuffer;
}

export type EncryptWorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly id: number; readonly hashes: Uint8Array; readonly plain: ArrayBuffer; readonly sealed: ArrayBuffer }
  | { readonly type: 'error'; readonly id: number; readonly message: string; readonly plain: ArrayBuffer; readonly sealed: ArrayBuffer };

let key: Buffer = Buffer.alloc(0);

parentPort!.on('message', (message: EncryptInitMessage | EncryptTaskMessage | { type: 'close' }) => {
  if (message.type === 'close') {
    key.fill(0);
    parentPort!.close();
    return;
  }
  if (message.type === 'init') {
    key = Buffer.from(message.key);
    message.key.fill(0);
    parentPort!.postMessage({ type: 'ready' } satisfies EncryptWorkerReply);
    return;
  }
  const { id, task, plain, sealed } = message;
  let reply: EncryptWorkerReply;
  try {
    const hashes = encryptSegments(task, key, new Uint8Array(plain, 0, task.length), new Uint8Array(sealed, 0, sealTaskOutputLength(task)));
    reply = { type: 'result', id, hashes, plain, sealed };
  } catch (error) {
    reply = { type: 'error', id, message: String((error as Error)?.message ?? error), plain, sealed };
  }
  parentPort!.postMessage(reply, [plain, sealed]);
});
