import { expect } from 'chai';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mlcube, snapshot, tempDir } from '../helpers/cli.js';

const GOOD = `name: errs
local:
  command: node -e "process.exit(0)"
tasks:
  train:
    parameters:
      inputs:
        data: {type: directory, default: data/}
      outputs:
        model: {type: directory, default: model/}
`;

interface Case {
  name: string;
  yaml?: string;
  setup?: (ws: string) => void;
  args: string[];
  exit: number;
  /** Every pattern must appear in stderr. */
  expect: (string | RegExp)[];
}

const withData = (ws: string) => mkdirSync(join(ws, 'data'), { recursive: true });

const CASES: Case[] = [
  {
    name: 'malformed YAML (unclosed flow mapping)',
    yaml: 'name: x\ntasks:\n  t: {parameters: {inputs: {a: b}\n',
    args: ['show_config'],
    exit: 2,
    expect: [/mlcube\.yaml:\d+:\d+: malformed YAML/, 'fix:'],
  },
  {
    name: 'schema: wrong type of a parameter type',
    yaml: GOOD.replace('type: directory, default: data/', 'type: dir, default: data/'),
    args: ['show_config'],
    exit: 2,
    expect: [/mlcube\.yaml:8:\d+: .*\/tasks\/train\/parameters\/inputs\/data\/type must be one of "file", "directory", "unknown" \(found string "dir"\)/],
  },
  {
    name: 'schema: tasks as a list (obsolete v1 schema)',
    yaml: 'name: x\ntasks:\n  - download.yaml\n  - train.yaml\n',
    args: ['show_config'],
    exit: 2,
    expect: [/mlcube\.yaml:3:\d+: `tasks` is a list: that is the obsolete v1 MLCube schema/],
  },
  {
    name: 'schema: a misspelt key inside a task',
    yaml: GOOD.replace('    parameters:', '    paramters:'),
    args: ['show_config'],
    exit: 2,
    expect: [/mlcube\.yaml:6:\d+: .*\/tasks\/train\/paramters is not a known key here \(allowed: entrypoint, parameters, gates, timeout, cache, depends_on\)/],
  },
  {
    name: 'schema: several problems reported at once',
    yaml: GOOD.replace('name: errs', 'name: [1]').replace('default: model/', 'default: 5'),
    args: ['show_config'],
    exit: 2,
    expect: ['breaks the schema in 2 places', /mlcube\.yaml:1:\d+ \/name must be string/, /mlcube\.yaml:10:\d+ .*default must be string \(found number 5\)/],
  },
  {
    name: 'unknown task',
    yaml: GOOD,
    setup: withData,
    args: ['run', '--platform=local', '--task=trian'],
    exit: 2,
    expect: ['unknown task "trian" (the cube has: train)'],
  },
  {
    name: 'unknown -P key (medperf#489 typo: input instead of inputs)',
    yaml: GOOD,
    setup: withData,
    args: ['run', '--platform=local', '--task=train', '-Ptasks.train.parameters.input.data.opts=ro'],
    exit: 2,
    expect: ['-P tasks.train.parameters.input.data.opts=ro: key "tasks.train.parameters.input.data.opts" matches nothing', 'Keys at that level: inputs, outputs'],
  },
  {
    name: 'a -P key under an open map names nothing below it (env_args.A.B)',
    yaml: GOOD,
    setup: withData,
    args: ['show_config', '--platform=docker', '-Pdocker.env_args.API_TOKEN.deeper=x'],
    exit: 2,
    expect: ['-P docker.env_args.API_TOKEN.deeper=x: key "docker.env_args.API_TOKEN.deeper" matches nothing'],
  },
  {
    name: 'a misspelt -P key beside an open map stays an error (docker.env_arg)',
    yaml: GOOD,
    setup: withData,
    args: ['show_config', '--platform=docker', '-Pdocker.env_arg.API_TOKEN=x'],
    exit: 2,
    expect: ['-P docker.env_arg.API_TOKEN=x: key "docker.env_arg.API_TOKEN" matches nothing'],
  },
  {
    name: 'unknown task-parameter override',
    yaml: GOOD,
    setup: withData,
    args: ['run', '--platform=local', '--task=train', 'dat=/tmp/x'],
    exit: 2,
    expect: ['task override "dat=..." matches no parameter of task(s) train (parameters: data, model)'],
  },
  {
    name: 'unresolvable ${...}',
    yaml: GOOD.replace('{type: directory, default: model/}', '{type: directory, default: "${HOME}/model/"}'),
    setup: withData,
    args: ['run', '--platform=local', '--task=train'],
    exit: 2,
    expect: [/mlcube\.yaml:10:\d+: interpolation key "HOME" not found/, 'write ${oc.env:HOME}'],
  },
  {
    name: 'interpolation cycle',
    yaml: GOOD.replace('name: errs', 'name: ${description}\ndescription: ${name}'),
    setup: withData,
    args: ['run', '--platform=local', '--task=train'],
    exit: 2,
    expect: [/interpolation cycle: (name -> description -> name|description -> name -> description)/],
  },
  {
    name: 'missing input',
    yaml: GOOD,
    args: ['run', '--platform=local', '--task=train'],
    exit: 2,
    expect: [/task "train", parameter "data": input .*\/workspace\/data does not exist/, 'Create it, or point the parameter elsewhere'],
  },
  {
    name: 'output directory that is an existing file',
    yaml: GOOD,
    setup: (ws) => {
      withData(ws);
      writeFileSync(join(ws, 'model'), 'precious');
    },
    args: ['run', '--platform=local', '--task=train'],
    exit: 2,
    expect: [/task "train", parameter "model": .*\/workspace\/model is an existing file but the parameter is a directory/],
  },
  {
    name: 'a path through a symlink loop',
    yaml: GOOD,
    setup: (ws) => {
      withData(ws);
      symlinkSync(join(ws, 'loop-b'), join(ws, 'loop-a'));
      symlinkSync(join(ws, 'loop-a'), join(ws, 'loop-b'));
    },
    args: ['run', '--platform=local', '--task=train', 'model=loop-a/model/'],
    exit: 2,
    expect: [/parameter "model": path .*loop-a\/model cannot be resolved: it goes through a symbolic link loop/],
  },
  {
    name: 'unknown platform',
    yaml: GOOD,
    setup: withData,
    args: ['run', '--platform=dockr', '--task=train'],
    exit: 2,
    expect: ['unknown platform "dockr" (known: docker, singularity, local, slurm, charliecloud)'],
  },
  {
    name: 'a runner flag the runner cannot honour',
    yaml: GOOD,
    setup: withData,
    args: ['run', '--platform=local', '--task=train', '--network=none'],
    exit: 2,
    expect: ['--network is not supported by the local runner'],
  },
  {
    name: 'a bad GPU specification',
    yaml: GOOD,
    setup: withData,
    args: ['run', '--platform=local', '--task=train', '--gpus=0,1'],
    exit: 2,
    expect: ['--gpus="0,1" is not a GPU specification', 'device=0,1'],
  },
];

describe('bad input: a clear error, and nothing changes on disk', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const t = tempDir('mlcube-err-');
      try {
        const ws = join(t.dir, 'workspace');
        mkdirSync(ws);
        if (c.yaml !== undefined) writeFileSync(join(t.dir, 'mlcube.yaml'), c.yaml);
        c.setup?.(ws);
        const before = snapshot(t.dir);
        const r = await mlcube([...c.args, `--mlcube=${t.dir}`]);
        expect(r.exitCode, r.stderr).to.equal(c.exit);
        for (const e of c.expect) {
          if (typeof e === 'string') expect(r.stderr).to.contain(e);
          else expect(r.stderr).to.match(e);
        }
        expect(r.stderr).to.not.match(/\n\s+at .*\.js:\d+/, 'no stack trace for user errors');
        expect(r.stdout).to.equal('');
        expect(snapshot(t.dir)).to.deep.equal(before);
      } finally {
        t.cleanup();
      }
    });
  }
});
