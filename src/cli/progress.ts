/** A one-line progress bar for terminals; the CLI shows it only when stderr is a TTY. */
export function progressBar(out: NodeJS.WriteStream) {
  const started = Date.now();
  let last = 0;
  return {
    update: (done: number, total: number) => {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 30;
      const frac = total > 0 ? Math.min(1, done / total) : 1;
      const filled = Math.round(frac * width);
      const rate = Math.round(done / Math.max(0.001, (now - started) / 1000));
      out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} events  ${rate}/s `);
    },
    done: () => out.write('\n'),
  };
}
