import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { PACKAGE_ROOT } from '../package-root.js';
import { WRITE_CODE_CACHE_ENV } from '../code-cache.js';
import { computeOclifManifest, OCLIF_MANIFEST } from '../cli/oclif-manifest.js';

/**
 * Build step: bundles the CLI into CommonJS files run through V8 code caches (src/code-cache.ts):
 * - dist/run.cjs: `mlcube run` without oclif, for its plain command lines (src/cli/run-main.ts; runners are
 *   evaluated lazily inside it);
 * - dist/cli.cjs: the CLI through oclif, every command (our code, oclif, yaml, execa...);
 * - dist/vendor-docker.cjs: dockerode and tar, loaded only by the Docker runner;
 * - dist/mlcube.cjs: the launcher (CommonJS: Node starts a CommonJS main ~5 ms sooner), started by dist/mlcube,
 *   the `mlcube` bin (a copy of src/cli/mlcube.sh), which starts one of the two;
 * - oclif.manifest.json: the command table, so oclif does not load and describe every command at each start;
 * then records each bundle's code cache by running representative work once.
 */
const dist = join(PACKAGE_ROOT, 'dist');
const cliBundle = join(dist, 'cli.cjs');
const runBundle = join(dist, 'run.cjs');
const dockerBundle = join(dist, 'vendor-docker.cjs');
const launcher = join(dist, 'mlcube.cjs');
const bin = join(dist, 'mlcube');
const codeCacheModule = join(PACKAGE_ROOT, 'src', 'code-cache.ts');
for (const f of [cliBundle, runBundle, dockerBundle]) rmSync(`${f}.v8-cache`, { force: true });
// Left by earlier layouts of this build (an ES module split bundle).
for (const old of ['chunks', 'mlcube.mjs', 'mlcube.cjs.v8-cache', 'validators.generated.js']) rmSync(join(dist, old), { recursive: true, force: true });

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
  // Loaded at run time only where used (tfjs by the cube, typescript/ts-node by oclif for .ts commands).
  external: ['@tensorflow/*', 'typescript', 'ts-node', 'cpu-features', '*.node'],
  // import() in a node:vm script needs --experimental-vm-modules on Node 20: turn the few left in dependencies
  // (oclif's loaders for .mjs/.ts commands and config files, not used here) into require().
  supported: { 'dynamic-import': false },
  // A third less source to read at every start; names are kept (readable stacks), and a source map is beside it.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  logLevel: 'warning',
};

/** The CLI bundle reaches dockerode and tar through the separately cached vendor bundle. */
const dockerVendor: Plugin = {
  name: 'docker-vendor',
  setup(b) {
    b.onResolve({ filter: /^(dockerode|tar)$/ }, (args) => ({ path: args.path, namespace: 'docker-vendor' }));
    b.onLoad({ filter: /.*/, namespace: 'docker-vendor' }, (args) => ({
      contents: `import { requireWithCodeCache } from ${JSON.stringify(codeCacheModule)};
module.exports = requireWithCodeCache(require('node:path').join(__dirname, 'vendor-docker.cjs'))[${JSON.stringify(args.path)}];`,
      resolveDir: PACKAGE_ROOT,
      loader: 'js',
    }));
  },
};

for (const [entry, outfile] of [['main.ts', cliBundle], ['run-main.ts', runBundle]]) {
  await build({ ...common, entryPoints: [join(PACKAGE_ROOT, 'src', 'cli', entry)], outfile, ...importMetaUrl, plugins: [dockerVendor] });
}
await build({
  ...common,
  // Getters: each package is evaluated when first used (tar by image builds only).
  stdin: { contents: "module.exports = { get dockerode() { return require('dockerode'); }, get tar() { return require('tar'); } };", resolveDir: PACKAGE_ROOT, loader: 'js' },
  outfile: dockerBundle,
});
// dockerode's session.js reads `${__dirname}/proto/auth.proto`; bundled, __dirname is dist/.
cpSync(join(PACKAGE_ROOT, 'node_modules', 'dockerode', 'lib', 'proto'), join(dist, 'proto'), { recursive: true });
await build({ ...common, entryPoints: [join(PACKAGE_ROOT, 'src', 'cli', 'launcher.ts')], outfile: launcher, ...importMetaUrl, banner: { js: `#!/usr/bin/env node\n${importMetaUrl.banner!.js}` } });
chmodSync(launcher, 0o755);
copyFileSync(join(PACKAGE_ROOT, 'src', 'cli', 'mlcube.sh'), bin);
chmodSync(bin, 0o755);
writeFileSync(join(PACKAGE_ROOT, OCLIF_MANIFEST), `${JSON.stringify(await computeOclifManifest(PACKAGE_ROOT), null, 2)}\n`);

function recordCodeCache(args: string[], cwd: string): void {
  const r = spawnSync(process.execPath, args, {
    cwd,
    // No NODE_OPTIONS: V8 flags are part of what a code cache must match, and users start mlcube without any.
    env: { ...process.env, NODE_OPTIONS: '', [WRITE_CODE_CACHE_ENV]: '1', MLCUBE_SYSTEM_SETTINGS: join(cwd, 'settings.yaml'), MLCUBE_LOG_LEVEL: 'warning' },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`code cache run \`node ${args.join(' ')}\` failed (${r.status}): ${r.stderr}`);
}

// Representative work: the config pipeline, local runner and run record for the run bundle; oclif and show_config
// for the CLI; a Docker client for the vendor.
const scratch = mkdtempSync(join(tmpdir(), 'mlcube-code-cache-'));
try {
  writeFileSync(join(scratch, 'noop.mjs'), '');
  writeFileSync(join(scratch, 'mlcube.yaml'), 'name: noop\nlocal:\n  command: node noop.mjs\ntasks:\n  noop:\n    parameters:\n      outputs:\n        out: {type: directory, default: out/}\n');
  mkdirSync(join(scratch, 'workspace'));
  recordCodeCache([launcher, 'run', `--mlcube=${scratch}`, '--platform=local', '--task=noop'], scratch);
  recordCodeCache([launcher, 'show_config', `--mlcube=${scratch}`, '--platform=local'], scratch);
  const loadVendor = `const { requireWithCodeCache } = await import(${JSON.stringify(join(dist, 'src', 'code-cache.js'))});
const { dockerode: Docker } = requireWithCodeCache(${JSON.stringify(dockerBundle)});
new Docker({ socketPath: '/nonexistent/docker.sock' }).getContainer('x');`;
  recordCodeCache(['--input-type=module', '-e', loadVendor], scratch);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.stderr.write(`bundled ${runBundle}, ${cliBundle}, ${dockerBundle} with code caches; bin ${bin}; ${OCLIF_MANIFEST}\n`);
