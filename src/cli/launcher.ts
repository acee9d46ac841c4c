// The `mlcube` executable's JavaScript (built to dist/mlcube.cjs, started by the bin dist/mlcube, src/cli/mlcube.sh):
// starts the CLI bundle dist/cli.cjs through its V8 code cache (see src/code-cache.ts).
import { fileURLToPath } from 'node:url';
import { requireWithCodeCache } from '../code-cache.js';
import { restoreExtraCaCerts } from '../tls-trust.js';

interface CliBundle {
  main(entryUrl: string, argv: string[]): Promise<void>;
}

// Before anything reads the environment or starts a process (see src/cli/mlcube.sh).
restoreExtraCaCerts();

// oclif checks Node against its own `engines` at load (semver, ~5 ms); ours (>= 20) is stricter, checked here.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 5)) process.emitWarning(`mlcube needs Node.js >= 20.5; this is ${process.versions.node}`);
const userSetting = process.env.OCLIF_DISABLE_ENGINE_WARNING;
process.env.OCLIF_DISABLE_ENGINE_WARNING = '1';
const cli = requireWithCodeCache(fileURLToPath(new URL('./cli.cjs', import.meta.url))) as CliBundle;
if (userSetting === undefined) delete process.env.OCLIF_DISABLE_ENGINE_WARNING; // not handed down to tasks
void cli.main(import.meta.url, process.argv.slice(2));
