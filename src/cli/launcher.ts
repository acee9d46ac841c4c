// The `mlcube` executable's JavaScript (built to dist/mlcube.cjs, started by the bin dist/mlcube, src/cli/mlcube.sh):
// starts one of two bundles through its V8 code cache (see src/code-cache.ts): dist/run.cjs for the plain
// `mlcube run` command lines (no oclif: src/cli/run-argv.ts), dist/cli.cjs, the CLI through oclif, for the rest.
import { installSignalLatch } from './signal-latch.js';
import { fileURLToPath } from 'node:url';
import { requireWithCodeCache } from '../code-cache.js';
import { restoreExtraCaCerts } from '../tls-trust.js';
import { parseRunArgv, takeLogLevel, type RunCommandLine } from './run-argv.js';
import { since } from './since.js';

interface CliBundle {
  main(entryUrl: string, argv: string[]): Promise<void>;
  reportUnexpected(e: Error): Promise<void>;
}
interface RunBundle {
  runWithoutOclif(commandLine: RunCommandLine): Promise<void>;
}

const argv = takeLogLevel(process.argv.slice(2));
// First of all, before the CLI bundles load (~10-40 ms): a Ctrl-C from now on stops the run (with or without
// oclif) cleanly; one that came even earlier, while Node.js started, ended the process before anything started.
if (argv[0] === 'run') installSignalLatch();

// Before anything reads the environment or starts a process (see src/cli/mlcube.sh).
restoreExtraCaCerts();

// oclif checks Node against its own `engines` at load (semver, ~5 ms); ours (>= 20) is stricter, checked here.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 5)) process.emitWarning(`mlcube needs Node.js >= 20.5; this is ${process.versions.node}`);

function loadCli(): CliBundle {
  const userSetting = process.env.OCLIF_DISABLE_ENGINE_WARNING;
  process.env.OCLIF_DISABLE_ENGINE_WARNING = '1';
  const cli = requireWithCodeCache(fileURLToPath(new URL('./cli.cjs', import.meta.url))) as CliBundle;
  if (userSetting === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING; // not handed down to tasks
  return cli;
}

const run = argv[0] === 'run' ? parseRunArgv(argv.slice(1)) : undefined;
if (run) {
  const bundle = requireWithCodeCache(fileURLToPath(new URL('./run.cjs', import.meta.url))) as RunBundle;
  since('CLI loaded (run, without oclif)');
  bundle.runWithoutOclif(run).catch((e: Error) => loadCli().reportUnexpected(e));
} else {
  void loadCli().main(import.meta.url, argv);
}
