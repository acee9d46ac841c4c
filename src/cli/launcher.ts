// The `mlcube` command (built to dist/mlcube.cjs, the package's bin): starts one of two bundles: dist/run.cjs for
// the plain `mlcube run` command lines (no oclif: src/cli/run-argv.ts), dist/cli.cjs, the CLI through oclif, for the rest.
import module, { createRequire } from 'node:module';
import { installSignalLatch } from './signal-latch.js';
import { parseRunArgv, takeLogLevel, type RunCommandLine } from './run-argv.js';
import { since } from './since.js';
import { sweepPrivatePlaces } from '../private-places.js';

interface CliBundle {
  main(entryUrl: string, argv: string[]): Promise<void>;
  reportUnexpected(e: Error): Promise<void>;
}
interface RunBundle {
  runWithoutOclif(commandLine: RunCommandLine): Promise<void>;
}

// Node's own compile cache, where this Node.js has it (22.1+; 20 has none), before the bundles load.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const require = createRequire(import.meta.url);

const argv = takeLogLevel(process.argv.slice(2));
// First of all, before the CLI bundles load: a Ctrl-C from now on stops the run (with or without oclif) cleanly;
// one that came even earlier, while Node.js started, ended the process before anything started.
if (argv[0] === 'run') installSignalLatch();

// package.json's `engines` is checked by npm at install only (and oclif's own check is in the package index,
// which the CLI does not load: it imports oclif by sub-path).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 5)) process.emitWarning(`mlcube needs Node.js >= 20.5; this is ${process.versions.node}`);

// Plaintext that a killed mlcube left in its private places goes first, whatever this command is.
for (const dir of sweepPrivatePlaces()) process.stderr.write(`mlcube info: removed ${dir}, the private place of a task whose mlcube was killed\n`);

const loadCli = () => require('./cli.cjs') as CliBundle;
const run = argv[0] === 'run' ? parseRunArgv(argv.slice(1)) : undefined;
if (run) {
  const bundle = require('./run.cjs') as RunBundle;
  since('CLI loaded (run, without oclif)');
  bundle.runWithoutOclif(run).catch((e: Error) => loadCli().reportUnexpected(e));
} else {
  void loadCli().main(import.meta.url, argv);
}
