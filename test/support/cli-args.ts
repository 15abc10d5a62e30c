/** The value of `--name V` or `--name=V` in a script's arguments (benchmarks, chaos, fuzz CLIs). */
export function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(name + '='));
  return eq ? eq.slice(name.length + 1) : undefined;
}
