/** The size of our terminal, when stdout is one that knows its size (a fresh pty may say 0×0). */
export function terminalSize(): { rows: number; cols: number } | undefined {
  const { rows, columns } = process.stdout;
  return process.stdout.isTTY && rows > 0 && columns > 0 ? { rows, cols: columns } : undefined;
}
