import type { Io } from './output.js';

/** Only worth drawing for long work. */
const MIN_BYTES = 32 * 1024 * 1024;

function megabytes(n: number): string {
  return `${(n / 1e6).toFixed(0)} MB`;
}

/**
 * A progress bar on stderr, drawn only when stderr is a terminal (never in pipes, logs or --json
 * runs) and only for large inputs.
 */
export function progressBar(io: Io, label: string, enabled: boolean) {
  const started = Date.now();
  let lastDraw = 0;
  let drawn = false;
  const active = enabled && io.stderr.isTTY === true;
  return {
    update(done: number, total: number | null) {
      if (!active || (total !== null && total < MIN_BYTES)) return;
      const now = Date.now();
      if (now - lastDraw < 100 && done !== total) return;
      lastDraw = now;
      drawn = true;
      const rate = done / Math.max(0.001, (now - started) / 1000);
      const width = 30;
      const ratio = total ? Math.min(1, done / total) : 0;
      const bar = total ? '#'.repeat(Math.round(ratio * width)).padEnd(width, '.') : '';
      const pct = total ? `${(ratio * 100).toFixed(0).padStart(3)}% ` : '';
      io.stderr.write(`\r${label} [${bar}] ${pct}${megabytes(done)} ${megabytes(rate)}/s `);
    },
    done() {
      if (drawn) io.stderr.write('\n');
    },
  };
}
