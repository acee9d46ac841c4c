import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { PACKAGE_ROOT } from '../package-root.js';
import { computeOclifManifest, OCLIF_MANIFEST } from '../cli/oclif-manifest.js';

/**
 * Build step (a runner's module is evaluated when a command uses it; dockerode and tar stay in node_modules, loaded
 * by the Docker runner):
 * - dist/cli.cjs: the CLI through oclif, every command (our code, oclif, yaml, execa...);
 * - dist/run.cjs: `mlcube run` without oclif, for its plain command lines (src/cli/run-main.ts);
 * - dist/mlcube.cjs: the `mlcube` bin (package.json "bin"), a Node.js script that loads one of the two
 *   (src/cli/launcher.ts);
 * - oclif.manifest.json: the command table, so oclif does not load and describe every command at each start.
 */
const dist = join(PACKAGE_ROOT, 'dist');
const cliBundle = join(dist, 'cli.cjs');
const runBundle = join(dist, 'run.cjs');
const bin = join(dist, 'mlcube.cjs');
// What earlier layouts of this step wrote into dist/ (code caches, vendor bundles, a shell bin): gone, so that a
// package made from an old checkout carries none of it.
const STALE = ['chunks', 'mlcube.mjs', 'validators.generated.js', 'mlcube', 'proto', 'vendor-docker.cjs', 'vendor-docker-ssh.cjs', 'vendor-docker-session.cjs'];
for (const old of STALE.flatMap((f) => [f, `${f}.map`, `${f}.v8-cache`]).concat(['cli.cjs.v8-cache', 'run.cjs.v8-cache', 'mlcube.cjs.v8-cache']))
  rmSync(join(dist, old), { recursive: true, force: true });

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
  // imported when a docker run starts), typescript/ts-node by oclif for .ts commands (never here).
  // vega, vega-lite and resvg (a native module) by `mlcube card` only (src/card/render.ts).
  external: ['dockerode', 'tar', 'typescript', 'ts-node', 'vega', 'vega-lite', '@resvg/resvg-js'],
  // A third less source to read at every start; names are kept (readable stacks), and a source map is beside it.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  logLevel: 'warning',
};

for (const [entry, outfile] of [
  ['main.ts', cliBundle],
  ['run-main.ts', runBundle],
]) {
  await build({ ...common, entryPoints: [join(PACKAGE_ROOT, 'src', 'cli', entry)], outfile, ...importMetaUrl });
}
await build({ ...common, entryPoints: [join(PACKAGE_ROOT, 'src', 'cli', 'launcher.ts')], outfile: bin, ...importMetaUrl, banner: { js: `#!/usr/bin/env node\n${importMetaUrl.banner!.js}` } });
chmodSync(bin, 0o755);
writeFileSync(join(PACKAGE_ROOT, OCLIF_MANIFEST), `${JSON.stringify(await computeOclifManifest(PACKAGE_ROOT), null, 2)}\n`);

process.stderr.write(`bundled ${runBundle}, ${cliBundle}; bin ${bin}; ${OCLIF_MANIFEST}\n`);
