import { expect } from 'chai';
import { parseGpuSpec, gpuRequest, cudaVisibleDevices } from '../../src/params/gpus.js';
import { ConfigError } from '../../src/errors.js';

describe('GPU specification (Python DeviceSpecs, PR mlcube#351)', () => {
  const table: [string | null, unknown][] = [
    [null, { kind: 'none' }],
    ['', { kind: 'none' }],
    ['   ', { kind: 'none' }],
    ['0', { kind: 'none' }],
    ['-1', { kind: 'none' }],
    ['all', { kind: 'all' }],
    ['1', { kind: 'count', count: 1 }],
    ['3', { kind: 'count', count: 3 }],
    ['device=1', { kind: 'devices', devices: ['1'] }],
    ['device=2,3', { kind: 'devices', devices: ['2', '3'] }],
    ['device=GPU-1f22a253-aaaa', { kind: 'devices', devices: ['GPU-1f22a253-aaaa'] }],
    ['device=GPU-1f22a253-aaaa,7', { kind: 'devices', devices: ['GPU-1f22a253-aaaa', '7'] }],
  ];
  for (const [spec, expected] of table) it(`parses ${JSON.stringify(spec)}`, () => expect(parseGpuSpec(spec)).to.deep.equal(expected));

  for (const bad of ['0,1,2', 'two', 'device=', 'device=a b']) {
    it(`rejects ${JSON.stringify(bad)}`, () => expect(() => parseGpuSpec(bad)).to.throw(ConfigError, /is not a GPU specification/));
  }

  const fromConfig: [string | null, unknown, string][] = [
    [null, null, 'none'],
    [null, 0, 'none'],
    [null, -1, 'none'],
    [null, 1, 'count'],
    [null, 3, 'count'],
    ['', 3, 'none'],
    ['0', 3, 'none'],
    ['all', 0, 'all'],
  ];
  for (const [cli, count, kind] of fromConfig) {
    it(`--gpus=${JSON.stringify(cli)} with accelerator_count=${count} -> ${kind}`, () => expect(gpuRequest(cli, count).kind).to.equal(kind));
  }

  it('CUDA_VISIBLE_DEVICES as docker renumbers: N -> 0..N-1, devices as given, none hides', () => {
    expect([
      cudaVisibleDevices({ kind: 'count', count: 3 }),
      cudaVisibleDevices({ kind: 'devices', devices: ['7', '2'] }),
      cudaVisibleDevices({ kind: 'none' }),
      cudaVisibleDevices({ kind: 'all' }),
    ]).to.deep.equal(['0,1,2', '7,2', '', undefined]);
  });
});
