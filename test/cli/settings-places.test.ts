import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mlcube, snapshot, tempDir } from '../helpers/cli.js';

// A runner setting that breaks the schema or the runner's checks is reported where it was written: the settings
// file's platform, the cube's own runner section, or the -P override (issue #15: it used to say mlcube.yaml:1:1).

const CUBE = `name: places
docker:
  image: places/cube:1
tasks:
  train:
    parameters:
      outputs:
        model: {type: directory, default: model/}
`;

interface Case {
  name: string;
  settings: string;
  cube?: string;
  args: string[];
  env?: Record<string, string>;
  /** Every pattern must appear in stderr; FILE and CUBE stand for the settings and cube file paths. */
  expect: string[];
}

const platform = (lines: string) => `# mlcube settings\nplatforms:\n  mine:\n    runner: docker\n${lines}`;

const CASES: Case[] = [
  {
    name: 'schema error in the settings file platform (build_strategy)',
    settings: platform('    image: x/y:1\n    build_strategy: sometimes\n'),
    args: ['run', '--platform=mine', '--task=train'],
    expect: ['FILE:6:21: ', 'build_strategy must be one of'],
  },
  {
    name: 'the same key set in the cube section is located in the cube',
    settings: platform('    build_strategy: pull\n'),
    cube: CUBE.replace('  image: places/cube:1\n', '  image: places/cube:1\n  build_strategy: sometimes\n'),
    args: ['run', '--platform=mine', '--task=train'],
    expect: ['CUBE:4:19: ', 'build_strategy must be one of'],
  },
  {
    name: 'a -P override is named as the place',
    settings: platform('    build_strategy: pull\n'),
    args: ['run', '--platform=mine', '--task=train', '-Pdocker.build_strategy=sometimes'],
    expect: ['-P docker.build_strategy=sometimes: ', 'build_strategy must be one of'],
  },
  {
    name: "a runner setting's value after interpolation (--mount_opts from the environment) is located in the settings file",
    settings: platform('    --mount_opts: ${oc.env:MOUNT_MODE}\n'),
    env: { MOUNT_MODE: 'sometimes' },
    args: ['run', '--platform=mine', '--task=train'],
    expect: ['FILE:5:19: ', 'docker.--mount_opts is string "sometimes"; expected one of'],
  },
  {
    name: 'an unknown runner name is located at the platform runner key',
    settings: '# mlcube settings\nplatforms:\n  mine:\n    runner: dokcer\n',
    args: ['run', '--platform=mine', '--task=train'],
    expect: ['FILE:4:13: ', 'uses runner "dokcer"'],
  },
  {
    name: "a runner's own check (slurm.inner: slurm) is located in the settings file",
    settings: '# mlcube settings\nplatforms:\n  hpc:\n    runner: slurm\n    inner: slurm\n',
    args: ['run', '--platform=hpc', '--task=train'],
    expect: ['FILE:5:12: ', 'cannot submit itself again'],
  },
  {
    name: 'an interpolation error in the settings file platform is located there',
    settings: platform('    image: ${nope.missing}\n'),
    cube: CUBE.replace('docker:\n  image: places/cube:1\n', ''),
    args: ['run', '--platform=mine', '--task=train'],
    expect: ['FILE:5:12', 'nope.missing'],
  },
];

describe('settings-file errors name the settings file, line and column', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const t = tempDir('mlcube-places-');
      try {
        const file = join(t.dir, 'settings.yaml');
        const cubeFile = join(t.dir, 'mlcube.yaml');
        writeFileSync(file, c.settings);
        writeFileSync(cubeFile, c.cube ?? CUBE);
        const before = snapshot(t.dir);
        const r = await mlcube([...c.args, `--mlcube=${t.dir}`], { env: { MLCUBE_SYSTEM_SETTINGS: file, ...c.env } });
        expect(r.exitCode, r.stderr).to.equal(2);
        for (const e of c.expect) expect(r.stderr).to.include(e.replace('FILE', file).replace('CUBE', cubeFile));
        expect(r.stderr).not.to.include(`${cubeFile}:1:1`);
        expect(r.stderr).not.to.match(/\n\s+at /);
        expect(snapshot(t.dir), 'exit 2 changes nothing on disk').to.deep.equal(before);
      } finally {
        t.cleanup();
      }
    });
  }
});
