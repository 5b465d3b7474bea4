/** A one-line progress bar on a terminal; nothing otherwise (logs get a start and an end line). */
export interface Progress {
  update(done: number): void;
  finish(): void;
}

const MB = 1024 * 1024;

export function progressBar(label: string, total: number, stream: NodeJS.WriteStream, enabled: boolean): Progress {
  if (!enabled) return { update() {}, finish() {} };
  const started = Date.now();
  let last = 0;
  const draw = (done: number) => {
    const width = 30;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * width);
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    stream.write(
      `\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${(done / MB).toFixed(1)}/${(total / MB).toFixed(1)} MB ${(done / MB / seconds).toFixed(1)} MB/s`,
    );
  };
  return {
    update(done) {
      const now = Date.now();
      if (now - last < 100 || done >= total) return;
      last = now;
      draw(done);
    },
    finish() {
      draw(total);
      stream.write('\n');
    },
  };
}
