import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Module, createRequire } from 'node:module';
import { dirname } from 'node:path';
import vm from 'node:vm';

/** Set by the build while it runs representative commands: save a code cache next to each bundle loaded. */
export const WRITE_CODE_CACHE_ENV = 'MLCUBE_WRITE_CODE_CACHE';

/**
 * `require()` of one of our CommonJS bundles (dist/*.cjs) through a V8 code cache, `<file>.v8-cache`, written at
 * build time. Compiling the ~1.5 MB CLI bundle took a fifth of the time of `mlcube run` of a no-op task, and
 * loading dockerode with its ssh2/gRPC dependencies ~150 ms; Node 20 has no built-in compile cache (22 has),
 * and none for ES modules, hence CommonJS bundles and node:vm. A cache V8 rejects (another Node.js version,
 * a changed bundle) costs only the compile. The module is registered in require.cache, so a plain require()
 * of the same file (oclif loading its command table) gets this instance.
 */
export function requireWithCodeCache(file: string): unknown {
  const require = createRequire(file);
  const known = require.cache[file];
  if (known) return known.exports;
  const { script, cachePath } = compileWithCodeCache(file);
  if (process.env[WRITE_CODE_CACHE_ENV] === '1') {
    // At exit, so functions compiled while the command ran are in the cache too.
    process.once('exit', () => {
      writeFileSync(`${cachePath}.tmp`, script.createCachedData());
      renameSync(`${cachePath}.tmp`, cachePath);
    });
  }
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

/** Compiles a CommonJS bundle in Node's module wrapper, from `<file>.v8-cache` when V8 accepts it. */
export function compileWithCodeCache(file: string): { script: vm.Script; cachePath: string; cacheUsed: boolean } {
  const cachePath = `${file}.v8-cache`;
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cachePath);
  } catch {
    cachedData = undefined;
  }
  // latin1: esbuild writes ASCII only (non-ASCII escaped), and a one-byte string is read without UTF-8 decoding.
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, 'latin1')}\n})`;
  const script = new vm.Script(source, { filename: file, cachedData });
  return { script, cachePath, cacheUsed: cachedData !== undefined && script.cachedDataRejected === false };
}
