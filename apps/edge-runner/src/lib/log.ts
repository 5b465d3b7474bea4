/** The runner's log: one human-readable line per event on stderr (no secrets: ids, sizes, codes). */
export type RunnerLog = (message: string) => void;

export function stderrLog(prefix = 'edge-runner'): RunnerLog {
  return (message) => process.stderr.write(`${prefix}: ${message}\n`);
}
