import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { PACKAGE_ROOT } from '../package-root.js';
import { computeOclifManifest, OCLIF_MANIFEST } from '../cli/oclif-manifest.js';

/**
 * Build step: bundles the CLI into CommonJS files:
 * - dist/cli.cjs: the CLI through oclif, every command (our code, oclif, yaml, execa...; runners are evaluated
 *   when a command uses one);
 * - dist/mlcube.cjs: the `mlcube` bin (package.json "bin"), a Node.js script that starts it;
 * - oclif.manifest.json: the command table, so oclif does not load and describe every command at each start;
 */
const dist = join(PACKAGE_ROOT, 'dist');
const cliBundle = join(dist, 'cli.cjs');
const launcher = join(dist, 'mlcube.cjs');
// Left by earlier layouts of this build (an ES module split bundle).
for (const old of ['chunks', 'mlcube.mjs', 'mlcube.cjs.v8-cache', 'validators.generated.js', 'run.cjs.v8-cache', 'cli.cjs.v8-cache', 'vendor-docker.cjs.v8-cache', 'vendor-docker-ssh.cjs', 'vendor-docker-session.cjs', 'vendor-docker.cjs', 'proto', 'mlcube', 'run.cjs', 'run.cjs.map']) rmSync(join(dist, old), { recursive: true, force: true });

// Sources are ES modules using import.meta.url to find the package: give them the bundle's own URL.
const importMetaUrl: BuildOptions = {
  define: { 'import.meta.url': '__mlcubeBundleUrl' },
  banner: { js: "const __mlcubeBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
};

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Loaded from node_modules, only where used: dockerode and tar by the Docker runner (runners/docker.ts is
  // imported when a docker run starts), tfjs by the cube, typescript/ts-node by oclif for .ts commands.
  external: ['dockerode', 'tar', '@tensorflow/*', 'typescript', 'ts-node'],
  // A third less source to read at every start; names are kept (readable stacks), and a source map is beside it.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  logLevel: 'warning',
};

await build({ ...common, entryPoints: [join(PACKAGE_ROOT, 'src', 'cli', 'main.ts')], outfile: cliBundle, ...importMetaUrl });
await build({ ...common, entryPoints: [join(PACKAGE_ROOT, 'src', 'cli', 'launcher.ts')], outfile: launcher, ...importMetaUrl, banner: { js: `#!/usr/bin/env node\n${importMetaUrl.banner!.js}` } });
chmodSync(launcher, 0o755);
writeFileSync(join(PACKAGE_ROOT, OCLIF_MANIFEST), `${JSON.stringify(await computeOclifManifest(PACKAGE_ROOT), null, 2)}\n`);

process.stderr.write(`bundled ${cliBundle}; bin ${launcher}; ${OCLIF_MANIFEST}\n`);
