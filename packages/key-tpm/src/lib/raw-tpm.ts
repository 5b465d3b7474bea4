import { connect } from 'node:net';

/**
 * Two raw TPM commands sent straight to swtpm's TCP data port, so the harness needs no tpm2-tools
 * to know the TPM is up (TPM2_GetRandom) and to shut it down in order (TPM2_Shutdown): a TPM
 * stopped without it counts a dictionary-attack failure at its next start.
 */
const GET_RANDOM_8 = Buffer.from('80010000000c0000017b0008', 'hex');
const SHUTDOWN_CLEAR = Buffer.from('80010000000c000001450000', 'hex');
const HEADER_LENGTH = 10;

/** Sends one command; resolves with the response code, rejects if the port does not answer. */
function send(port: number, command: Buffer, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`no answer on port ${port} within ${timeoutMs} ms`)));
    socket.on('error', fail);
    socket.on('connect', () => socket.write(command));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const response = Buffer.concat(chunks);
      if (response.length >= HEADER_LENGTH && response.length >= response.readUInt32BE(2)) {
        socket.end();
        resolve(response.readUInt32BE(6));
      }
    });
  });
}

export async function tpmAnswers(port: number, timeoutMs = 2000): Promise<boolean> {
  return send(port, GET_RANDOM_8, timeoutMs).then(
    (rc) => rc === 0,
    () => false,
  );
}

export async function shutdownTpm(port: number, timeoutMs = 2000): Promise<void> {
  await send(port, SHUTDOWN_CLEAR, timeoutMs).catch(() => undefined);
}
