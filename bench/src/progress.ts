/** One line of progress: `[#####.....]  42%  label`. */
export function progressLine(fraction: number, label: string, width = 30): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(f * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(f * 100)).padStart(3)}%  ${label}`;
}

/**
 * A progress bar on stderr: redrawn in place on a terminal, a plain line every few seconds otherwise
 * (logs stay readable when the output goes to a file).
 */
export function createProgress(stream: NodeJS.WriteStream = process.stderr) {
  const tty = stream.isTTY === true;
  let lastPlain = 0;
  let shown = false;
  return {
    update(fraction: number, label: string) {
      const line = progressLine(fraction, label);
      if (tty) {
        stream.write(
          `\r${line.slice(0, (stream.columns || 120) - 1).padEnd(Math.min(stream.columns || 120, 120) - 1)}`,
        );
        shown = true;
      } else if (Date.now() - lastPlain >= 5000) {
        lastPlain = Date.now();
        stream.write(`${line}\n`);
      }
    },
    /** Ends the bar (a newline on a terminal) before other output. */
    done() {
      if (tty && shown) stream.write('\n');
      shown = false;
      lastPlain = 0;
    },
  };
}
