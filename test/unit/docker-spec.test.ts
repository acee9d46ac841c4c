import { expect } from 'chai';
import { cgroupCandidates, cgroupSample, containerPlan, parseExtraArgs, parseBytes, keyValues, deviceRequests, statsSample } from '../../runners/docker-spec.js';
import { configureAction, needsConfigure } from '../../runners/docker-image.js';
import { dockerRunner } from '../../runners/docker-config.js';
import type { ResolvedTask } from '../../src/params/resolve.js';
import { ConfigError, ParameterError } from '../../src/errors.js';
import { isolation, param } from '../helpers/tasks.js';

const task = (over: Partial<ResolvedTask> = {}): ResolvedTask => ({
  name: 'train',
  params: [
    param({ name: 'data_dir', io: 'input', type: 'directory', hostPath: '/ws/data', opts: 'ro' }),
    param({ name: 'cfg', io: 'input', type: 'file', hostPath: '/ws/train.yaml' }),
    param({ name: 'model_dir', io: 'output', type: 'directory', hostPath: '/ws/model' }),
  ],
  isolation: isolation(),
  ...over,
});
/** The docker runner's settings of an effective configuration with this runner section. */
const cfg = (runner: Record<string, unknown> = {}, platform: Record<string, unknown> = {}) =>
  dockerRunner.settings({
    platform,
    runtime: { root: '/cube', workspace: '/ws' },
    runner: { image: 'img:1', env_args: {}, cpu_args: '', gpu_args: '', '--gpus': null, '--mount_opts': '', ...runner },
  });
const host = { uid: 1000, gid: 1000 };

describe('docker container plan (pure: Engine API create options)', () => {
  it('default entrypoint: <task> then --param=/mlcube_io paths; binds with ro where asked; invoking uid:gid', () => {
    const p = containerPlan(task(), cfg(), host, {}).options;
    expect(p.Cmd).to.deep.equal(['train', '--data_dir=/mlcube_io0', '--cfg=/mlcube_io1/train.yaml', '--model_dir=/mlcube_io2']);
    expect(p.Entrypoint).to.equal(undefined);
    expect(p.HostConfig!.Binds).to.deep.equal(['/ws/data:/mlcube_io0:ro', '/ws/model:/mlcube_io2', '/ws/train.yaml:/mlcube_io1/train.yaml:ro']);
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

  describe('metrics directory (a recorded run: TaskIo.metricsDir)', () => {
    const METRICS = 'MLCUBE_METRICS_FILE=/mlcube_metrics/metrics.jsonl';
    const cases: [string, Record<string, unknown>, string | undefined, string[], string[]][] = [
      [
        'not recorded: no bind, no MLCUBE_METRICS_FILE',
        {},
        undefined,
        ['/ws/data:/mlcube_io0:ro', '/ws/model:/mlcube_io2', '/ws/train.yaml:/mlcube_io1/train.yaml:ro'],
        ['MLCUBE_TASK=train', 'MLCUBE_GPUS=none'],
      ],
      [
        'recorded: bound rw at /mlcube_metrics, the env names the file there',
        {},
        '/runs/r1/metrics',
        ['/ws/data:/mlcube_io0:ro', '/ws/model:/mlcube_io2', '/ws/train.yaml:/mlcube_io1/train.yaml:ro', '/runs/r1/metrics:/mlcube_metrics:rw'],
        ['MLCUBE_TASK=train', 'MLCUBE_GPUS=none', METRICS],
      ],
      [
        'recorded: env_args / cpu_args cannot point the task at another file',
        { env_args: { MLCUBE_METRICS_FILE: '/host/m.jsonl', A: '1' }, cpu_args: '-e MLCUBE_METRICS_FILE=/x' },
        '/runs/r1/metrics',
        ['/ws/data:/mlcube_io0:ro', '/ws/model:/mlcube_io2', '/ws/train.yaml:/mlcube_io1/train.yaml:ro', '/runs/r1/metrics:/mlcube_metrics:rw'],
        ['A=1', 'MLCUBE_TASK=train', 'MLCUBE_GPUS=none', METRICS],
      ],
    ];
    for (const [name, runner, dir, binds, env] of cases) {
      it(name, () => {
        const p = containerPlan(task(), cfg(runner), host, {}, dir).options;
        expect(p.HostConfig!.Binds).to.deep.equal(binds);
        expect(p.Env).to.deep.equal(env);
      });
    }
  });

  describe('Engine stats answers (usage samples)', () => {
    const cases: [string, unknown, ReturnType<typeof statsSample>][] = [
      [
        'cgroup v1: usage less total_inactive_file, cumulative CPU in ns',
        {
          read: '2025-01-01T00:00:00.1Z',
          cpu_stats: { cpu_usage: { total_usage: 1_500_000_000 } },
          memory_stats: { usage: 80_000_000, max_usage: 90_000_000, stats: { total_inactive_file: 10_000_000 } },
        },
        { cpuNs: 1_500_000_000, memoryBytes: 70_000_000 },
      ],
      [
        'cgroup v2: usage less inactive_file',
        { read: '2025-01-01T00:00:00Z', cpu_stats: { cpu_usage: { total_usage: 2e6 } }, memory_stats: { usage: 5e6, stats: { inactive_file: 1e6 } } },
        { cpuNs: 2e6, memoryBytes: 4e6 },
      ],
      ['no memory detail: usage as is', { read: '2025-01-01T00:00:00Z', cpu_stats: { cpu_usage: { total_usage: 7 } }, memory_stats: { usage: 9 } }, { cpuNs: 7, memoryBytes: 9 }],
      ['a stopped container (zero time, empty stats)', { read: '0001-01-01T00:00:00Z', cpu_stats: { cpu_usage: { total_usage: 0 } }, memory_stats: {} }, undefined],
      ['not an answer at all', 'oops', undefined],
    ];
    for (const [name, stats, sample] of cases) it(name, () => expect(statsSample(stats as never)).to.deep.equal(sample));
  });

  describe('cgroup files (usage samples read on this host)', () => {
    const V1_STAT = 'cache 4096\nrss 3846144\ninactive_file 999\ntotal_rss 3846144\ntotal_inactive_file 4096\n';
    const V2_STAT = 'anon 3846144\nfile 8192\ninactive_file 4096\nactive_file 4096\n';
    const cases: [string, 1 | 2, Parameters<typeof cgroupSample>[1], ReturnType<typeof cgroupSample>][] = [
      ['v1: usage_in_bytes less total_inactive_file; cpuacct.usage in ns', 1, { usage: '8196096\n', stat: V1_STAT, cpu: '1030567388\n' }, { cpuNs: 1030567388, memoryBytes: 8196096 - 4096 }],
      [
        'v2: memory.current less inactive_file; cpu.stat usage_usec',
        2,
        { usage: '8196096\n', stat: V2_STAT, cpu: 'usage_usec 1500000\nuser_usec 1400000\nsystem_usec 100000\n' },
        { cpuNs: 1_500_000_000, memoryBytes: 8196096 - 4096 },
      ],
      ['memory only (cpu file unreadable)', 2, { usage: '100\n', stat: undefined, cpu: undefined }, { memoryBytes: 100 }],
      ['gone with the container: nothing readable', 1, {}, undefined],
    ];
    for (const [name, version, files, sample] of cases) it(name, () => expect(cgroupSample(version, files)).to.deep.equal(sample));

    it('looks where the daemon puts them: v2 then v1, systemd then cgroupfs layouts', () => {
      expect(cgroupCandidates('abc', '/cg')).to.deep.equal([
        { version: 2, memory: '/cg/system.slice/docker-abc.scope', cpu: '/cg/system.slice/docker-abc.scope' },
        { version: 2, memory: '/cg/docker/abc', cpu: '/cg/docker/abc' },
        { version: 1, memory: '/cg/memory/system.slice/docker-abc.scope', cpu: '/cg/cpuacct/system.slice/docker-abc.scope' },
        { version: 1, memory: '/cg/memory/docker/abc', cpu: '/cg/cpuacct/docker/abc' },
      ]);
    });
  });

  it('gpu_args are used with GPUs, cpu_args without', () => {
    const c = cfg({ cpu_args: '--rm --ipc=host', gpu_args: '--shm-size=1g', '--gpus': 'all' });
    const p = containerPlan(task(), c, host, {}).options;
    expect(p.HostConfig!.ShmSize).to.equal(1024 ** 3);
    expect(p.HostConfig!.IpcMode).to.equal(undefined);
  });

  describe('isolation: the workspace records', () => {
    const atRoot = (over: Partial<ResolvedTask> = {}) => task({ params: [param({ name: 'summary', io: 'output', type: 'file', hostPath: '/ws/summary.txt' })], ...over });
    it('an output file at the workspace root: the workspace is bound, a read-only tmpfs lies over its .mlcube', () => {
      const p = containerPlan(atRoot(), cfg(), host, {});
      expect(p.options.HostConfig!.Binds).to.deep.equal(['/ws:/mlcube_io0']);
      expect(p.options.HostConfig!.Mounts).to.deep.equal([{ Type: 'tmpfs', Source: '', Target: '/mlcube_io0/.mlcube', ReadOnly: true, TmpfsOptions: { SizeBytes: 4096, Mode: 0o555 } }]);
      expect(p.covers.map((c) => c.host)).to.deep.equal(['/ws/.mlcube']);
    });
    it('no cover needed: no Mounts at all', () => expect(containerPlan(task(), cfg(), host, {}).options.HostConfig!.Mounts).to.equal(undefined));
    it('--privileged in cpu_args with a cover is refused (a privileged container may unmount it); without one it is kept', () => {
      expect(() => containerPlan(atRoot(), cfg({ cpu_args: '--privileged' }), host, {})).to.throw(
        ParameterError,
        /task "train", parameter "summary": cpu_args has --privileged, and the mount of this parameter contains the workspace's run records \(\/ws\/\.mlcube\)/,
      );
      expect(containerPlan(task(), cfg({ cpu_args: '--privileged' }), host, {}).options.HostConfig!.Privileged).to.equal(true);
    });
  });

  it('user: image leaves the image USER; an explicit uid:gid or -u in cpu_args wins', () => {
    expect(containerPlan(task(), cfg({ user: 'image' }), host, {}).options.User).to.equal(undefined);
    expect(containerPlan(task(), cfg({ user: '42:43' }), host, {}).options.User).to.equal('42:43');
    expect(containerPlan(task(), cfg({ cpu_args: '-u 7:8' }), host, {}).options.User).to.equal('7:8');
  });

  it('--mount=ro makes inputs read-only; network, security, memory and cpuset map to HostConfig', () => {
    const p = containerPlan(task(), cfg({ '--mount_opts': 'ro', '--network': 'none', '--security-opt': 'seccomp=unconfined', '--memory': '2g', '--cpuset-cpus': '0-1' }), host, {}).options;
    expect(p.HostConfig!.Binds).to.deep.equal(['/ws/data:/mlcube_io0:ro', '/ws/model:/mlcube_io2', '/ws/train.yaml:/mlcube_io1/train.yaml:ro']);
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
    expect([needsConfigure('pull', true), needsConfigure('pull', false), needsConfigure('auto', true), needsConfigure('always', true), needsConfigure('never', false)]).to.deep.equal([
      false,
      true,
      false,
      true,
      false,
    ]);
  });
});
