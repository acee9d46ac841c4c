// The `mlcube` command (built to dist/mlcube.cjs, the package's bin): starts the CLI bundle, dist/cli.cjs.
import module, { createRequire } from 'node:module';
import { installSignalLatch } from './signal-latch.js';
import { takeLogLevel } from './log-level.js';

// Node's own compile cache, where this Node.js has it (22.1+; 20 has none), before the bundle loads.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const argv = takeLogLevel(process.argv.slice(2));
// First of all, before the CLI bundle loads: a Ctrl-C from now on stops the run cleanly; one that came even
// earlier, while Node.js started, ended the process before anything started.
if (argv[0] === 'run') installSignalLatch();

// package.json's `engines` is checked by npm at install only (and oclif's own check is in the package index,
// which the CLI does not load: it imports oclif by sub-path).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 5)) process.emitWarning(`mlcube needs Node.js >= 20.5; this is ${process.versions.node}`);

const cli = createRequire(import.meta.url)('./cli.cjs') as { main(entryUrl: string, argv: string[]): Promise<void> };
void cli.main(import.meta.url, argv);
