import { expect } from 'chai';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, copyFixture, mlcube, readJson, snapshot, tempDir } from '../helpers/cli.js';

/** `mlcube rerun` (README "Reruns"). */
describe('mlcube rerun', function () {
  this.timeout(240_000);

  const recordOf = (ws: string, id: string) => readJson(join(ws, '.mlcube', 'runs', id, 'record.json'));
  const outputs = (r: { parameters: { io: string; name: string; digest: { sha256: string } | null }[] }) =>
    Object.fromEntries(r.parameters.filter((p) => p.io === 'output').map((p) => [p.name, p.digest?.sha256 ?? null]));

  it("the MNIST cube's train run again: the same outputs bit for bit (by digest), the new record says what it reran", async () => {
    const ws = tempDir('mlcube-rerun-mnist-');
    try {
      for (const f of ['data.yaml', 'mnist-offline.npz', 'train-quick.yaml']) writeFileSync(join(ws.dir, f), readFileSync(join(REPO, 'cubes', 'mnist', 'workspace', f)));
      const first = await mlcube(['run', '--mlcube=cubes/mnist', '--platform=local', '--task=download,train', `--workspace=${ws.dir}`, 'train_config=train-quick.yaml', '--json']);
      expect(first.exitCode, first.stderr).to.equal(0);
      const train = JSON.parse(first.stdout).tasks.find((t: { task: string }) => t.task === 'train').run_id;
      const again = await mlcube(['rerun', train, '--mlcube=cubes/mnist', `--workspace=${ws.dir}`, '--json']);
      expect(again.exitCode, again.stderr).to.equal(0);
      expect(again.stderr).to.contain(`rerunning run ${train} (task "train", platform local) with its overrides -Ptasks.train.parameters.inputs.train_config.default="train-quick.yaml"`);
      const id = JSON.parse(again.stdout).tasks[0].run_id;
      const [a, b] = [recordOf(ws.dir, train), recordOf(ws.dir, id)];
      expect(b.rerun).to.deep.equal({ of: train, overrides: [] });
      expect(outputs(b).model_dir).to.be.a('string');
      expect(outputs(b).model_dir, 'the model, bit for bit').to.equal(outputs(a).model_dir);
      expect(b.config).to.deep.equal(a.config);
      // An override on top is recorded as such, and makes another model.
      const changed = await mlcube(['rerun', train, '--mlcube=cubes/mnist', `--workspace=${ws.dir}`, '-Pplatform.accelerator_count=0', '--json']);
      expect(changed.exitCode, changed.stderr).to.equal(0);
      expect(recordOf(ws.dir, JSON.parse(changed.stdout).tasks[0].run_id).rerun).to.deep.equal({ of: train, overrides: ['-Pplatform.accelerator_count'] });
    } finally {
      ws.cleanup();
    }
  });

  it('refuses (exit 2, nothing run) when the cube file changed, or a secret value cannot be replayed', async () => {
    const cube = copyFixture('basic');
    try {
      const ws = join(cube.dir, 'workspace');
      const r = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy', '-Plocal.env_args.GREETING=not-the-default', '--json']);
      expect(r.exitCode, r.stderr).to.equal(0);
      const id = JSON.parse(r.stdout).tasks[0].run_id;
      const secret = await mlcube(['rerun', id, `--mlcube=${cube.dir}`]);
      expect(secret.exitCode).to.equal(2);
      expect(secret.stderr).to.contain(`run ${id} cannot be rerun as it was: its configuration cannot be rebuilt: local.env_args.GREETING`);
      expect(secret.stderr).to.contain('given again with -Plocal.env_args.GREETING=VALUE');
      const given = await mlcube(['rerun', id, `--mlcube=${cube.dir}`, '-Plocal.env_args.GREETING=not-the-default', '--json']);
      expect(given.exitCode, given.stderr).to.equal(0);
      const rerun = recordOf(ws, JSON.parse(given.stdout).tasks[0].run_id);
      expect(rerun.rerun).to.deep.equal({ of: id, overrides: ['-Plocal.env_args.GREETING'] });
      expect(JSON.stringify(rerun)).to.not.contain('not-the-default');
      const file = join(cube.dir, 'mlcube.yaml');
      writeFileSync(file, readFileSync(file, 'utf8') + '\n# edited\n');
      const before = snapshot(cube.dir);
      const edited = await mlcube(['rerun', id, `--mlcube=${cube.dir}`, '-Plocal.env_args.GREETING=not-the-default']);
      expect(edited.exitCode).to.equal(2);
      expect(edited.stderr).to.match(/its cube file .*mlcube\.yaml changed \(sha256 [0-9a-f]{12}\.\.\. then, [0-9a-f]{12}\.\.\. now\)/);
      expect(snapshot(cube.dir)).to.deep.equal(before);
      expect(readdirSync(join(ws, '.mlcube', 'runs')).filter((n) => n.includes('-copy-'))).to.have.length(2);
    } finally {
      cube.cleanup();
    }
  });
});
