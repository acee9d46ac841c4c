import { expect } from 'chai';
import { Config } from '@oclif/core/config';
import Run from '../../src/cli/commands/run.js';
import { parseRunArgv, RUN_FLAGS } from '../../src/cli/run-argv.js';
import { REPO, copyFixture, mlcube } from '../helpers/cli.js';

/** Command lines `mlcube run` takes without oclif: each must parse exactly as oclif parses it. */
const TAKEN: string[][] = [
  [],
  ['--mlcube=cubes/mnist', '--platform=local', '--task=download,train', '--workspace=/tmp/w'],
  ['--mlcube', 'cubes/mnist', '--task', 'train', '--platform', 'singularity'],
  ['-Pdocker.image=a:b', '-P', 'docker.build_strategy=auto', '-pplatform.accelerator_count=1', '--P=docker.gpu_args=--gpus=all'],
  ['--task=train', 'data_dir=/data', '--epochs=3', 'lr=0.1'],
  ['--task=train', 'lr=0.1', '-Pdocker.image=x', 'batch=2', '--mlcube=c', 'Pdocker=1'],
  ['--network=host', '--security=seccomp=unconfined', '--gpus=device=0,2', '--memory=8g', '--cpu=0-3', '--mount=ro'],
  ['--gpus=', '--mount', 'rw', '--workspace=', '--task=a=b'],
  ['--json', '--task=t'],
  ['--detach', '--platform=slurm', '--task=a,b'],
  ['--no-wait', '--task=a'],
  ['--task=a', '--no-wait', 'x=1'],
  ['--task=-x'],
  ['--jobs=3', '--task=a,b'],
  ['--dry-run', '--jobs', '1', '--json'],
  ['--no-cache', '--dry-run'],
  ['--policy=p.yaml', '--task=a'],
  ['--timeout', '90s', '--task=a'],
  ['--sweep=a.b=1,2', '--sweep', 'train.yaml:lr=0.1,0.2', '--tag=k=v', '--experiment=e', '--sweep-file=s.yaml', '--tag', 'owner=me'],
  ['--task=train', '--sweep=train.yaml:model=mlp,cnn', 'train_config=quick.yaml', '-Pdocker.image=x'],
];

/** Command lines left to oclif (help, errors, anything unusual): parseRunArgv must decline them. */
const LEFT_TO_OCLIF: string[][] = [
  ['--help'],
  ['-h'],
  ['--version'],
  ['--task=a', '--task=b'],
  ['--json', '--json'],
  ['--task'],
  ['--task', '--json'],
  ['--mount=xx'],
  ['--json=yes'],
  ['--no-wait', '--no-wait'],
  ['--jobs=1', '--jobs=2'],
  ['--experiment=a', '--experiment=b'],
  ['--sweep'],
  ['--dry-run=yes'],
  ['--wait'],
  ['--', 'x=1'],
  ['--bogus'],
  ['--bogus', 'value'],
  ['-x'],
  ['--P-lowercase', 'a=b'],
  ['-P'],
];

describe('mlcube run without oclif (src/cli/run-argv.ts)', () => {
  let config: Config;
  before(async () => {
    config = await Config.load(REPO);
  });
  const viaOclif = (argv: string[]) => new Run(argv, config).commandLine();

  for (const argv of TAKEN) {
    it(`takes ${JSON.stringify(argv)} and parses it as oclif does`, async () => {
      const fast = parseRunArgv(argv);
      expect(fast, 'taken without oclif').to.not.equal(undefined);
      expect(fast).to.deep.equal(await viaOclif(argv));
    });
  }

  for (const argv of LEFT_TO_OCLIF) {
    it(`leaves ${JSON.stringify(argv)} to oclif`, () => {
      expect(parseRunArgv(argv)).to.equal(undefined);
    });
  }

  it('knows the same flags as the oclif command (names, kinds, -P, default, options)', () => {
    const flags = Run.flags as Record<string, { type: string; multiple?: boolean; char?: string; charAliases?: string[]; default?: unknown; options?: string[] }>;
    const kinds = (type: string, multiple: boolean) =>
      Object.keys(flags)
        .filter((f) => flags[f].type === type && Boolean(flags[f].multiple) === multiple)
        .sort();
    expect(kinds('option', false)).to.deep.equal([...RUN_FLAGS.strings].sort());
    expect(kinds('boolean', false)).to.deep.equal([...RUN_FLAGS.booleans].sort());
    expect(kinds('option', true)).to.deep.equal([RUN_FLAGS.params, ...RUN_FLAGS.multiples].sort());
    expect([flags.P.char, ...(flags.P.charAliases ?? [])]).to.deep.equal(['P', 'p']);
    expect(flags.platform.default).to.equal(RUN_FLAGS.defaults.platform);
    expect(flags.mount.options).to.deep.equal(RUN_FLAGS.options.mount);
    expect(Object.values(flags).filter((f) => f.default !== undefined && f.type === 'option')).to.have.length(1);
  });

  it('a plain run goes without oclif, and one it declines goes through oclif', async () => {
    const cube = copyFixture('basic');
    try {
      const plain = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy', '--log-level=debug']);
      expect(plain.exitCode, plain.stderr).to.equal(0);
      expect(plain.stderr).to.not.contain('oclif configured');
      const declined = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=copy', '--task=copy', '--log-level=debug']);
      expect(declined.stderr).to.contain('oclif configured');
    } finally {
      cube.cleanup();
    }
  });

  it('reports a task error the same way on both paths (message, fixes, exit code)', async () => {
    const cube = copyFixture('basic');
    try {
      const plain = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=nope']);
      // The same request ended by `--`, which only oclif takes.
      const viaOclifCli = await mlcube(['run', `--mlcube=${cube.dir}`, '--platform=local', '--task=nope', '--']);
      expect(plain.exitCode).to.equal(2);
      expect(plain.stderr).to.contain('mlcube error: MLCUBE_USAGE: task "nope"');
      expect(viaOclifCli.exitCode).to.equal(plain.exitCode);
      expect(viaOclifCli.stderr).to.equal(plain.stderr);
    } finally {
      cube.cleanup();
    }
  });
});
