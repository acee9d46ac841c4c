import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { validateDataFile } from '../data/dataset.js';
import { CubeError } from '../errors.js';
import type { Logger } from '../log.js';
import { loadYamlConfig } from '../yaml-config.js';
import { fetchToFile, sha256File } from './fetch.js';
import { DATA_CONFIG_SCHEMA, type DataConfig } from './schema.js';
import { resolveSources, type Source } from './sources.js';

export interface DownloadParams {
  dataConfig: string;
  dataDir: string;
  /** Backoff of the first retry (ms); tests shorten it. */
  backoffMs?: number;
}

async function alreadyThere(target: string, sha: string): Promise<boolean> {
  return existsSync(target) && (await sha256File(target)) === sha;
}

/**
 * The download task: fetch every source into a temporary file in data_dir, check its sha256 and its format, and only
 * when all are good rename them into place. Any failure removes the temporary files, so data_dir is left as it was.
 */
export async function runDownload(params: DownloadParams, log: Logger): Promise<void> {
  const cfg = loadYamlConfig<DataConfig>(params.dataConfig, DATA_CONFIG_SCHEMA, 'data_config');
  const sources = resolveSources(cfg, params.dataConfig, dirname(params.dataConfig));
  log.info(`data set ${cfg.dataset}: ${sources.length} file(s) into ${params.dataDir}`);
  mkdirSync(params.dataDir, { recursive: true });
  const pending: Array<{ tmp: string; target: string; source: Source }> = [];
  try {
    for (const source of sources) {
      const target = join(params.dataDir, source.name);
      if (await alreadyThere(target, source.sha256)) {
        log.info(`${source.name}: already present with sha256 ${source.sha256}; skipped`);
        continue;
      }
      const tmp = join(params.dataDir, `.${source.name}.${process.pid}.part`);
      pending.push({ tmp, target, source });
      log.info(`fetching ${source.uri}`);
      const got = await fetchToFile(source.uri, tmp, { timeoutMs: cfg.timeout_s * 1000, retries: cfg.retries, backoffMs: params.backoffMs ?? 1000, log });
      if (got.sha256 !== source.sha256) {
        throw new CubeError({
          place: source.uri,
          problem: `sha256 mismatch after ${got.bytes} bytes`,
          found: got.sha256,
          expected: source.sha256,
          fix: 'the file is corrupt or not the one data_config names: fix the uri or the hash in data_config',
        });
      }
      validateDataFile(source.name, readFileSync(tmp), source.uri);
      log.info(`${source.name}: sha256 ${got.sha256} verified, contents valid`);
    }
    for (const p of pending) renameSync(p.tmp, p.target);
  } finally {
    for (const p of pending) rmSync(p.tmp, { force: true });
  }
  log.info(`done: ${sources.map((s) => s.name).join(', ')} in ${params.dataDir}`);
}
