import { expect } from 'chai';
import { parseParamOverrides, overridesTree, parseTaskArgs } from '../../src/config/overrides.js';
import { UsageError } from '../../src/errors.js';

describe('command-line overrides (Python parse_extra_arg)', () => {
  it('-P values become a nested tree, YAML-typed (30 is an int)', () => {
    const tree = overridesTree(parseParamOverrides(['docker.image=IMAGE_NAME', 'platform.host_memory_gb=30', 'docker.env_args.A=x=y', 'a.flag=true', 'a.empty=']));
    expect(tree).to.deep.equal({ docker: { image: 'IMAGE_NAME', env_args: { A: 'x=y' } }, platform: { host_memory_gb: 30 }, a: { flag: true, empty: '' } });
  });

  it('task arguments in both forms; the whole value after the first = is kept (Python keeps only up to a second =)', () => {
    const args = parseTaskArgs(['data_config=/configs/data.yaml', '--data_dir=/data/imagenet', 'cfg=a=b']);
    expect([...args]).to.deep.equal([['data_config', '/configs/data.yaml'], ['data_dir', '/data/imagenet'], ['cfg', 'a=b']]);
  });

  const bad: [string, () => unknown, RegExp][] = [
    ['-P without =', () => parseParamOverrides(['docker.image']), /is not KEY=VALUE/],
    ['-P with an empty segment', () => parseParamOverrides(['docker..image=x']), /empty key segment/],
    ['a task argument without = (Python crashes with IndexError)', () => parseTaskArgs(['data_dir']), /unexpected argument "data_dir"/],
  ];
  for (const [what, fn, re] of bad) it(what, () => expect(fn).to.throw(UsageError, re));
});
