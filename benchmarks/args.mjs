// The benchmarks' numeric options (`--runs 20`): a positive integer, or the
// fallback when the option is not given.
export function positiveIntFlag(args, name, fallback) {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} takes a positive integer`);
  return n;
}
