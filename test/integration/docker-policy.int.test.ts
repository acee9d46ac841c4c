import { expect } from 'chai';
import { join } from 'node:path';
import Docker from 'dockerode';
import { REPO, copyFixture, mlcube, readJson, snapshot } from '../helpers/cli.js';
import { removeTestImage, requireDockerBaseImage } from '../helpers/docker.js';
import { recordsByTask } from '../helpers/graph.js';

const TAG = `mlcube-test/diamond-policy:${process.pid}`;
const DEPA = join(REPO, 'cubes', 'mnist', 'depa-policy.yaml');

/** The MNIST cube's DEPA contract policy on real plans of the docker runner (diamond fixture cube, real daemon). */
describe('docker: the DEPA policy on real plans (integration)', function () {
  this.timeout(240_000);
  let cube: { dir: string; cleanup: () => void };
  let imageId: string;
  const run = (args: string[]) => mlcube(['run', `--mlcube=${cube.dir}`, '--platform=docker', `--policy=${DEPA}`, '--task=a,b', ...args]);

  before(async function () {
    await requireDockerBaseImage(this, 'docker policy tests need a Docker daemon');
    const c = copyFixture('diamond');
    try {
      const r = await mlcube(['configure', `--mlcube=${c.dir}`, '--platform=docker', `-Pdocker.image=${TAG}`]);
      expect(r.exitCode, r.stderr).to.equal(0);
    } finally {
      c.cleanup();
    }
    imageId = (await new Docker().getImage(TAG).inspect()).Id;
  });
  beforeEach(() => (cube = copyFixture('diamond')));
  afterEach(() => cube.cleanup());
  after(() => removeTestImage(TAG));

  const DENIED: { what: string; args: () => string[]; rules: string[] }[] = [
    { what: '--network=host', args: () => [`-Pdocker.image=${imageId}`, '-Pdocker.build_strategy=never', '--network=host', '--mount=ro'], rules: ['no_network'] },
    { what: "the runner's default network", args: () => [`-Pdocker.image=${imageId}`, '-Pdocker.build_strategy=never', '--mount=ro'], rules: ['no_network'] },
    { what: 'an image by tag, not digest', args: () => [`-Pdocker.image=${TAG}`, '-Pdocker.build_strategy=never', '--network=none', '--mount=ro'], rules: ['image_pinned_by_digest'] },
    { what: 'writable inputs (--mount=rw)', args: () => [`-Pdocker.image=${imageId}`, '-Pdocker.build_strategy=never', '--network=none', '--mount=rw'], rules: ['datasets_read_only'] },
  ];
  for (const row of DENIED) {
    it(`denies ${row.what} (exit 8, the rule named, nothing created)`, async () => {
      const before = snapshot(cube.dir);
      const r = await run(row.args());
      expect(r.exitCode, r.stderr).to.equal(8);
      const failed = [...r.stderr.matchAll(/depa-mnist-contract \(--policy\): rule (\w+):/g)].map((m) => m[1]);
      expect(failed).to.deep.equal(row.rules);
      expect(snapshot(cube.dir)).to.deep.equal(before);
    });
  }

  it('allows the image by its id, no network, read-only inputs; the records hold the decision', async () => {
    const r = await run([`-Pdocker.image=${imageId}`, '-Pdocker.build_strategy=never', '--network=none', '--mount=ro']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/policy depa-mnist-contract \(--policy\): allow \(6 of 6 rules passed\)/);
    const recs = recordsByTask(join(cube.dir, 'workspace'));
    for (const t of ['a', 'b']) {
      const rec = readJson(join(cube.dir, 'workspace', '.mlcube', 'runs', recs[t].run_id, 'record.json'));
      expect(rec.policies.map((p: { name: string; decision: string }) => `${p.name}:${p.decision}`)).to.deep.equal(['depa-mnist-contract:allow']);
      expect(rec.image.digest).to.equal(imageId);
    }
  });
});
