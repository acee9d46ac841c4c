import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Module, createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import vm from 'node:vm';

/** Set by the build while it runs representative commands: save a code cache next to each bundle loaded. */
export const WRITE_CODE_CACHE_ENV = 'MLCUBE_WRITE_CODE_CACHE';

/**
 * `require()` of one of our CommonJS bundles (dist/*.cjs) through a V8 code cache. Compiling the CLI bundle was
 * a fifth of the time of `mlcube run` of a no-op task, and loading dockerode with ssh2/gRPC ~150 ms; Node 20 has
 * no built-in compile cache (22 has) and none for ES modules, hence CommonJS bundles and node:vm.
 *
 * The cache is `<file>.v8-cache`, recorded by the build. V8 rejects a cache made under other V8 flags (e.g.
 * NODE_OPTIONS=--max-old-space-size=...) or another Node.js: then the bundle is compiled, and the cache for this
 * Node.js and these flags is written once, at exit, under ~/.cache/mlcube/code-cache (best effort).
 * The module is registered in require.cache, so a plain require() of the same file (oclif loading its command
 * table) gets this instance.
 */
export function requireWithCodeCache(file: string): unknown {
  const require = createRequire(file);
  const known = require.cache[file];
  if (known) return known.exports;
  const { script, cacheUsed, userCache } = compileWithCodeCache(file);
  const writeTo = process.env[WRITE_CODE_CACHE_ENV] === '1' ? `${file}.v8-cache` : cacheUsed ? undefined : userCache;
  // At exit, so functions compiled while the command ran are in the cache too.
  if (writeTo) process.once('exit', () => writeCache(writeTo, script));
  const module = new Module(file);
  module.filename = file;
  require.cache[file] = module;
  try {
    (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, require, module, file, dirname(file));
  } catch (e) {
    delete require.cache[file];
    throw e;
  }
  module.loaded = true;
  return module.exports;
}

/** Compiles a CommonJS bundle in Node's module wrapper, from the first code cache V8 accepts (see above). */
export function compileWithCodeCache(file: string): { script: vm.Script; cacheUsed: boolean; userCache: string | undefined } {
  // latin1: esbuild writes ASCII only (non-ASCII escaped), and a one-byte string is read without UTF-8 decoding.
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'latin1')}\n})`;
  const userCache = userCachePath(file);
  let script: vm.Script | undefined;
  // The per-flags cache exists only where the build's was rejected before: try it first.
  for (const cachePath of [userCache, `${file}.v8-cache`]) {
    const cachedData = readIfExists(cachePath);
    if (!cachedData) continue;
    script = new vm.Script(source, { filename: file, cachedData });
    if (!script.cachedDataRejected) return { script, cacheUsed: true, userCache };
  }
  return { script: script ?? new vm.Script(source, { filename: file }), cacheUsed: false, userCache };
}

/** Per bundle build and per Node.js version and V8 flags: `<cache dir>/mlcube/code-cache/<bundle>-<build>-<runtime>.v8-cache`. */
export function userCachePath(file: string): string | undefined {
  try {
    const st = statSync(file);
    const build = fnv1a([file, st.size, st.mtimeMs].join('\0'));
    const runtime = fnv1a([process.version, process.arch, process.execArgv.join(' '), process.env.NODE_OPTIONS ?? ''].join('\0'));
    const root = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
    return join(root, 'mlcube', 'code-cache', `${basename(file)}-${build}-${runtime}.v8-cache`);
  } catch {
    return undefined;
  }
}

function readIfExists(path: string | undefined): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Atomically. Never fails the command (a read-only home, a full disk: the next start compiles again). */
function writeCache(path: string, script: vm.Script): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.tmp-${process.pid}`, script.createCachedData());
    renameSync(`${path}.tmp-${process.pid}`, path);
  } catch {
    return;
  }
  // Per-user caches of earlier builds of this bundle are dead weight (~1 MB each).
  const [, bundle, build] = /^(.+)-([0-9a-f]{8})-[0-9a-f]{8}\.v8-cache$/.exec(basename(path)) ?? [];
  if (!bundle) return; // the build's own cache (dist/<bundle>.v8-cache)
  try {
    for (const f of readdirSync(dirname(path))) if (f.startsWith(`${bundle}-`) && !f.startsWith(`${bundle}-${build}-`)) rmSync(join(dirname(path), f), { force: true });
  } catch {
    // Left for the next write.
  }
}

/** FNV-1a, 32 bits, hex: a file name, not a security boundary (a collision only means a cache V8 rejects). */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
