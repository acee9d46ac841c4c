import { expect } from 'chai';
import { containerPlan, parseExtraArgs, parseBytes, keyValues, deviceRequests } from '../../runners/docker-spec.js';
import { configureAction, needsConfigure } from '../../runners/docker-image.js';
import type { ResolvedTask } from '../../src/params/resolve.js';
import { ConfigError } from '../../src/errors.js';

const task = (over: Partial<ResolvedTask> = {}): ResolvedTask => ({
  name: 'train',
  params: [
    { name: 'data_dir', io: 'input', type: 'directory', hostPath: '/ws/data', opts: 'ro' },
    { name: 'cfg', io: 'input', type: 'file', hostPath: '/ws/train.yaml' },
    { name: 'model_dir', io: 'output', type: 'directory', hostPath: '/ws/model' },
  ],
  ...over,
});
const cfg = (runner: Record<string, unknown> = {}, platform: Record<string, unknown> = {}) => ({ platform, runner: { image: 'img:1', env_args: {}, cpu_args: '', gpu_args: '', '--gpus': null, '--mount_opts': '', ...runner } });
const host = { uid: 1000, gid: 1000 };

describe('docker container plan (pure: Engine API create options)', () => {
  it('default entrypoint: <task> then --param=/mlcube_io paths; binds with ro where asked; invoking uid:gid', () => {
    const p = containerPlan(task(), cfg(), host, {}).options;
    expect(p.Cmd).to.deep.equal(['train', '--data_dir=/mlcube_io0', '--cfg=/mlcube_io1/train.yaml', '--model_dir=/mlcube_io2']);
    expect(p.Entrypoint).to.equal(undefined);
    expect(p.HostConfig!.Binds).to.deep.equal(['/ws/data:/mlcube_io0:ro', '/ws:/mlcube_io1', '/ws/model:/mlcube_io2']);
    expect(p.User).to.equal('1000:1000');
    expect(p.HostConfig!.DeviceRequests).to.deep.equal([]);
    expect(p.Labels!['org.mlcommons.mlcube.task']).to.equal('train');
  });

  it('multi-token entrypoint: first token is the entrypoint, the rest then the parameters, no task name', () => {
    const p = containerPlan(task({ entrypoint: 'python 03_train.py --verbose' }), cfg(), host, {}).options;
    expect(p.Entrypoint).to.deep.equal(['python']);
    expect(p.Cmd!.slice(0, 3)).to.deep.equal(['03_train.py', '--verbose', '--data_dir=/mlcube_io0']);
  });

  it('single-token entrypoint keeps the parameters (the Python runner drops them all)', () => {
    const p = containerPlan(task({ entrypoint: '/other.sh' }), cfg(), host, {}).options;
    expect(p.Entrypoint).to.deep.equal(['/other.sh']);
    expect(p.Cmd).to.deep.equal(['--data_dir=/mlcube_io0', '--cfg=/mlcube_io1/train.yaml', '--model_dir=/mlcube_io2']);
  });

  const gpuTable: [string | null, number | null, unknown, string | undefined][] = [
    ['all', null, [{ Driver: '', Count: -1, Capabilities: [['gpu']] }], undefined],
    ['2', null, [{ Driver: '', Count: 2, Capabilities: [['gpu']] }], '0,1'],
    ['device=0,2', null, [{ Driver: '', DeviceIDs: ['0', '2'], Capabilities: [['gpu']] }], '0,2'],
    [null, 1, [{ Driver: '', Count: 1, Capabilities: [['gpu']] }], '0'],
    ['', 4, [], undefined],
  ];
  for (const [spec, count, requests, cuda] of gpuTable) {
    it(`GPUs --gpus=${JSON.stringify(spec)} accelerator_count=${count}: DeviceRequests and CUDA_VISIBLE_DEVICES`, () => {
      const p = containerPlan(task(), cfg({ '--gpus': spec }, { accelerator_count: count }), host, {}).options;
      expect(p.HostConfig!.DeviceRequests).to.deep.equal(requests);
      expect(p.Env!.find((e) => e.startsWith('CUDA_VISIBLE_DEVICES='))?.split('=')[1]).to.equal(cuda);
    });
  }

  it('gpu_args are used with GPUs, cpu_args without', () => {
    const c = cfg({ cpu_args: '--rm --ipc=host', gpu_args: '--shm-size=1g', '--gpus': 'all' });
    const p = containerPlan(task(), c, host, {}).options;
    expect(p.HostConfig!.ShmSize).to.equal(1024 ** 3);
    expect(p.HostConfig!.IpcMode).to.equal(undefined);
  });

  it('user: image leaves the image USER; an explicit uid:gid or -u in cpu_args wins', () => {
    expect(containerPlan(task(), cfg({ user: 'image' }), host, {}).options.User).to.equal(undefined);
    expect(containerPlan(task(), cfg({ user: '42:43' }), host, {}).options.User).to.equal('42:43');
    expect(containerPlan(task(), cfg({ cpu_args: '-u 7:8' }), host, {}).options.User).to.equal('7:8');
  });

  it('--mount=ro makes inputs read-only; network, security, memory and cpuset map to HostConfig', () => {
    const p = containerPlan(task(), cfg({ '--mount_opts': 'ro', '--network': 'none', '--security-opt': 'seccomp=unconfined', '--memory': '2g', '--cpuset-cpus': '0-1' }), host, {}).options;
    expect(p.HostConfig!.Binds).to.deep.equal(['/ws/data:/mlcube_io0:ro', '/ws:/mlcube_io1:ro', '/ws/model:/mlcube_io2']);
    expect([p.HostConfig!.NetworkMode, p.HostConfig!.SecurityOpt, p.HostConfig!.Memory, p.HostConfig!.CpusetCpus]).to.deep.equal(['none', ['seccomp=unconfined'], 2 * 1024 ** 3, '0-1']);
  });

  it('env_args from a map or from the Python string form (quotes honoured)', () => {
    expect(keyValues({ A: 'x y', B: 1 }, '-e')).to.deep.equal(['A=x y', 'B=1']);
    expect(keyValues("-e A='x y' -e B=1", '-e')).to.deep.equal(['A=x y', 'B=1']);
    expect(keyValues('--build-arg V=2', '--build-arg')).to.deep.equal(['V=2']);
  });

  it('parses docker-run words and reports the unsupported ones', () => {
    const x = parseExtraArgs('--rm --gpus=all --net=host --ipc=host --privileged -e A=1 --cap-add SYS_ADMIN');
    expect([x.networkMode, x.ipcMode, x.privileged, x.env]).to.deep.equal(['host', 'host', true, ['A=1']]);
    expect(x.ignored).to.deep.equal(['--cap-add', 'SYS_ADMIN']);
  });

  it('sizes', () => {
    expect([parseBytes('512m', 'x'), parseBytes('1G', 'x'), parseBytes('100', 'x')]).to.deep.equal([512 * 1024 ** 2, 1024 ** 3, 100]);
    expect(() => parseBytes('lots', '--memory')).to.throw(ConfigError, /--memory="lots" is not a size/);
  });

  it('device requests', () => {
    expect(deviceRequests({ kind: 'none' })).to.deep.equal([]);
  });

  const strategies: [string, boolean, string][] = [
    ['pull', true, 'pull'],
    ['pull', false, 'pull'],
    ['auto', true, 'build'],
    ['auto', false, 'pull'],
    ['always', true, 'build'],
    ['always', false, 'pull'],
    ['never', true, 'none'],
  ];
  for (const [s, recipe, action] of strategies) {
    it(`configure with build_strategy ${s}, Dockerfile ${recipe ? 'present' : 'absent'}: ${action}`, () => expect(configureAction(s as 'pull', recipe)).to.equal(action));
  }

  it('runs configure first only when the image is missing, or always under always', () => {
    expect([needsConfigure('pull', true), needsConfigure('pull', false), needsConfigure('auto', true), needsConfigure('always', true), needsConfigure('never', false)]).to.deep.equal([false, true, false, true, false]);
  });
});
