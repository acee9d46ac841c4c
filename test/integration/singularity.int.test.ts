import { expect } from 'chai';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { copyFixture, mlcube, readJson, tempDir } from '../helpers/cli.js';
import { SingularityRunner } from '../../runners/singularity.js';
import { DockerRunner } from '../../runners/docker.js';

const TAG = `mlcube-test/basic-sif:${process.pid}`;

/**
 * Real Singularity/Apptainer: runs whenever one is on PATH (skips with the reason otherwise; neither is packaged
 * in Debian, so CI here skips it). The SIF is built from a `docker save` archive of the fixture cube's image
 * (needs a Docker daemon), or from $MLCUBE_TEST_SIF_SOURCE (any build source holding node at /usr/local/bin or
 * /usr/bin and the cube's task.mjs at /cube/task.mjs).
 */
describe('singularity runner against a real Singularity/Apptainer (integration)', function () {
  let cube: { dir: string; cleanup: () => void };
  let images: { dir: string; cleanup: () => void };
  let source = process.env.MLCUBE_TEST_SIF_SOURCE ?? '';
  const P = () => [`-Psingularity.image_dir=${images.dir}`, '-Psingularity.image=basic.sif', `-Psingularity.build_file=${source}`, '-Psingularity.build_args='];

  before(async function () {
    this.timeout(600_000);
    const a = await new SingularityRunner().probe();
    if (!a.available) {
      console.warn(`    skip: singularity integration tests need singularity or apptainer on PATH: ${a.reason}`);
      return this.skip();
    }
    images = tempDir('mlcube-sif-');
    if (!source) {
      const d = await new DockerRunner().probe();
      if (!d.available) {
        console.warn(`    skip: no image source: set MLCUBE_TEST_SIF_SOURCE or start a Docker daemon (${d.reason})`);
        return this.skip();
      }
      const fixture = copyFixture('basic');
      await mlcube(['base-image']);
      const c = await mlcube(['configure', `--mlcube=${fixture.dir}`, '--platform=docker', `-Pdocker.image=${TAG}`]);
      fixture.cleanup();
      expect(c.exitCode, c.stderr).to.equal(0);
      await execa('docker', ['save', '-o', join(images.dir, 'basic.tar'), TAG]);
      source = `docker-archive:${join(images.dir, 'basic.tar')}`;
    }
  });
  beforeEach(() => (cube = copyFixture('basic')));
  afterEach(() => cube?.cleanup());
  after(async () => {
    images?.cleanup();
    await execa('docker', ['rmi', '-f', TAG], { reject: false });
  });

  it('configure builds the SIF without --fakeroot; run binds /mlcube_io dirs and passes the argv contract', async function () {
    this.timeout(600_000);
    const c = await mlcube(['configure', `--mlcube=${cube.dir}`, '--platform=singularity', ...P()]);
    expect(c.exitCode, c.stderr).to.equal(0);
    expect(existsSync(join(images.dir, 'basic.sif'))).to.equal(true);
    const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=singularity', '--task=copy', ...P()]);
    expect(r.exitCode, r.stderr).to.equal(0);
    const report = readJson(join(cube.dir, 'workspace', 'reports', 'report.txt'));
    expect(report.args).to.deep.equal(['--in_dir=/mlcube_io0', '--cfg=/mlcube_io0/cfg.yaml', '--out_dir=/mlcube_io1', '--report=/mlcube_io2/report.txt']);
  });

  it('a read-only input cannot be written (opts: ro -> --bind ...:ro) and the exit code comes back', async function () {
    this.timeout(600_000);
    const w = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=singularity', '--task=write_input', ...P()]);
    expect(w.exitCode).to.not.equal(0);
    expect(existsSync(join(cube.dir, 'workspace', 'input', 'intruder.txt'))).to.equal(false);
    writeFileSync(join(cube.dir, 'workspace', 'input', 'cfg.yaml'), 'exit_code: 9\n');
    const f = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=singularity', '--task=fail', ...P()]);
    expect(f.exitCode).to.equal(9);
  });
});
