import { makeBaseImage, parsePackages, validSuite, type BaseImageResult } from '../../runners/index.js';
import { UsageError } from '../errors.js';
import type { AppEnv } from './context.js';

export interface BaseImageOptions {
  /** A plain Debian image; else Debian with this host's node (mlcube/node-base). */
  debian: boolean;
  packages?: string;
  suite?: string;
  tag?: string;
  rebuild: boolean;
}

/** `base-image`: a Docker base image made from the host's Debian package source, for machines without a registry. */
export async function baseImage(opts: BaseImageOptions, app: AppEnv): Promise<BaseImageResult> {
  const { packages, bad } = parsePackages(opts.packages);
  if (bad !== undefined) {
    throw new UsageError(`"${bad}" is not a Debian package name`, {
      place: { parameter: '--packages' },
      suggestions: ['Give Debian package names separated by commas, e.g. --packages=python3,python3-numpy.'],
    });
  }
  if (opts.suite !== undefined && !validSuite(opts.suite)) {
    throw new UsageError(`"${opts.suite}" is not a Debian release name`, { place: { parameter: '--suite' }, suggestions: ['Name a release, e.g. --suite=bookworm.'] });
  }
  return makeBaseImage({ node: !opts.debian, packages, ...(opts.suite ? { suite: opts.suite } : {}) }, { tag: opts.tag, rebuild: opts.rebuild }, app.log);
}
