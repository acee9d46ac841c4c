import { expect } from 'chai';
import { parseParamOverrides, overridesTree, parseTaskArgs } from '../../src/config/overrides.js';
import { UsageError } from '../../src/errors.js';
import { commandLineParams } from '../../src/config/build.js';
import { paramKey } from '../../src/params/resolve.js';

describe('command-line overrides (Python parse_extra_arg)', () => {
  it('-P values become a nested tree, YAML-typed (30 is an int)', () => {
    const tree = overridesTree(parseParamOverrides(['docker.image=IMAGE_NAME', 'platform.host_memory_gb=30', 'docker.env_args.A=x=y', 'a.flag=true', 'a.empty=']));
    expect(tree).to.deep.equal({ docker: { image: 'IMAGE_NAME', env_args: { A: 'x=y' } }, platform: { host_memory_gb: 30 }, a: { flag: true, empty: '' } });
  });

  it('task arguments in both forms; the whole value after the first = is kept (Python keeps only up to a second =)', () => {
    const args = parseTaskArgs(['data_config=/configs/data.yaml', '--data_dir=/data/imagenet', 'cfg=a=b']);
    expect([...args]).to.deep.equal([
      ['data_config', '/configs/data.yaml'],
      ['data_dir', '/data/imagenet'],
      ['cfg', 'a=b'],
    ]);
  });

  const bad: [string, () => unknown, RegExp][] = [
    ['-P without =', () => parseParamOverrides(['docker.image']), /is not KEY=VALUE/],
    ['-P with an empty segment', () => parseParamOverrides(['docker..image=x']), /empty key segment/],
    ['a task argument without = (Python crashes with IndexError)', () => parseTaskArgs(['data_dir']), /unexpected argument "data_dir"/],
  ];
  for (const [what, fn, re] of bad) it(what, () => expect(fn).to.throw(UsageError, re));

  describe('which parameter paths the command line gave (the only outputs allowed outside the workspace)', () => {
    const tasks = { a: { parameters: { inputs: { i: { default: 'x' } }, outputs: { o: { default: 'o/' }, r: { default: 'r.txt' } } } }, b: { parameters: { outputs: { o: { default: 'b/' } } } } };
    const cases: [string, string[], string[], string[]][] = [
      ['nothing given', [], [], []],
      ['a task override names every task with that parameter', ['o=/x/'], [], ['a/output/o', 'b/output/o']],
      ['-P on the default', [], ['tasks.a.parameters.outputs.r.default=/x.txt'], ['a/output/r']],
      ['-P on the parameter (short form)', [], ['tasks.a.parameters.outputs.r=/x.txt'], ['a/output/r']],
      ['-P on the group, with a default inside', [], ['tasks.a.parameters.outputs={o: {default: /x/}}'], ['a/output/o']],
      ["-P on the type only: the path is still the cube's", [], ['tasks.a.parameters.outputs.r.type=file'], []],
      ['-P on another task', [], ['tasks.b.parameters.outputs.o.default=/y/'], ['b/output/o']],
    ];
    for (const [name, taskArgs, params, want] of cases) {
      it(name, () => {
        const got = commandLineParams(tasks, parseTaskArgs(taskArgs), parseParamOverrides(params));
        expect([...got].sort()).to.deep.equal(want.map((w) => paramKey(...(w.split('/') as [string, 'output', string]))).sort());
      });
    }
  });
});
