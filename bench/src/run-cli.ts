/**
 * The shell of every bench command (bench, chaos, examples): parses the arguments (a bad one prints
 * its message and the usage, exit 2; `--help` the usage, exit 0), runs `main`, and exits with its
 * code; a crash prints its stack under the command's tag and exits 1.
 */
export function runCli<Options extends { help: boolean }>(
  tag: string,
  usage: string,
  parse: () => Options,
  main: (options: Options) => Promise<number>,
): void {
  const run = async (): Promise<number> => {
    let options: Options;
    try {
      options = parse();
    } catch (err) {
      console.error(`${(err as Error).message}\n${usage}`);
      return 2;
    }
    if (options.help) {
      console.log(usage);
      return 0;
    }
    return main(options);
  };
  run().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`[${tag}] ${(err as Error).stack ?? String(err)}`);
      process.exit(1);
    },
  );
}
