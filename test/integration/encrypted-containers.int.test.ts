import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mlcube, readJson, tempDir } from '../helpers/cli.js';
import { removeTestImage, requireDockerBaseImage } from '../helpers/docker.js';
import { filesHolding, plaintextSearchRoots, secretCube, type SecretCube } from '../helpers/secret-cube.js';
import { CharliecloudRunner } from '../../runners/charliecloud.js';

const TAG = `mlcube-test/secret:${process.pid}`;

/** Encrypted inputs and outputs in containers (README "Encrypted inputs and outputs"): docker and charliecloud, real engines. */
describe('encrypted inputs and outputs in containers (integration)', function () {
  this.timeout(240_000);
  let s: SecretCube;
  let images: { dir: string; cleanup: () => void };

  before(async function () {
    await requireDockerBaseImage(this, 'encrypted-input container tests need a Docker daemon');
    const c = await secretCube();
    try {
      const b = await mlcube(['configure', `--mlcube=${c.dir}`, '--platform=docker', `-Pdocker.image=${TAG}`]);
      expect(b.exitCode, b.stderr).to.equal(0);
    } finally {
      c.cleanup();
    }
    images = tempDir('mlcube-secret-ch-');
  });
  afterEach(() => s?.cleanup());
  after(async () => {
    images?.cleanup();
    await removeTestImage(TAG);
  });

  const checkRun = async (platform: string, extra: string[]) => {
    s = await secretCube();
    const r = await mlcube(['run', `--mlcube=${s.dir}`, `--platform=${platform}`, '--task=read', `-Pdocker.image=${TAG}`, ...extra], { env: s.env });
    expect(r.exitCode, r.stderr).to.equal(0);
    const report = readJson(join(s.ws, 'out', 'report.json'));
    // The task read the plaintext at its container path, bound from the private place.
    expect(report.data_path).to.match(/^\/mlcube_io\d+$/);
    expect(report.note).to.match(/^[0-9a-f]{64}$/);
    expect(r.stderr, 'the runner logs its binds').to.match(/mlcube-plain-\d+-(\d+|x)-[A-Za-z0-9]{6}\/input-data/);
    expect(filesHolding(s.marker, plaintextSearchRoots(s.ws), [s.keysDir, images.dir])).to.deep.equal([]);
    const out = tempDir('mlcube-secret-out-');
    try {
      const d = await mlcube(['decrypt', `--identity=${s.identity}`, join(s.ws, 'out', 'result.enc'), join(out.dir, 'r')]);
      expect(d.exitCode, d.stderr).to.equal(0);
      expect(readFileSync(join(out.dir, 'r', 'answer.txt'), 'utf8')).to.match(/^2 files, note of \d+ bytes\n$/);
    } finally {
      out.cleanup();
    }
    expect(existsSync(join(s.ws, 'out', 'result'))).to.equal(false);
  };

  it('docker: the plaintext is bound into the container from the private place and gone afterwards; the output is sealed', () => checkRun('docker', ['-Pdocker.build_strategy=never']));

  it('charliecloud: the same with ch-run binds', async function () {
    const a = await new CharliecloudRunner().probe();
    if (!a.available) {
      console.warn(`    skip: needs ch-run (apt-get install charliecloud): ${a.reason}`);
      return this.skip();
    }
    await checkRun('charliecloud', [`-Pcharliecloud.image_dir=${images.dir}`]);
  });
});
