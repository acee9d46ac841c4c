import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, tempDir } from '../helpers/cli.js';
import { gpuFacts, hostFacts, hostFactsAsync, parseNvidiaSmi, type HostFacts } from '../../src/provenance/environment.js';

const FAKE_SMI_DIR = join(FIXTURES, 'bin', 'nvidia-smi');

describe('host facts (src/provenance/environment.ts)', () => {
  describe('nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader,nounits', () => {
    const cases: [string, string, ReturnType<typeof parseNvidiaSmi>][] = [
      ['one GPU', 'NVIDIA H200, 550.54.15, 143771\n', { gpus: [{ name: 'NVIDIA H200', driver: '550.54.15', memory_mib: 143771 }] }],
      [
        'several GPUs, CRLF and blank lines',
        'Tesla V100-SXM2-16GB, 470.82.01, 16160\r\nNVIDIA GeForce RTX 3090, 470.82.01, 24576\r\n\r\n',
        {
          gpus: [
            { name: 'Tesla V100-SXM2-16GB', driver: '470.82.01', memory_mib: 16160 },
            { name: 'NVIDIA GeForce RTX 3090', driver: '470.82.01', memory_mib: 24576 },
          ],
        },
      ],
      ['memory not reported ([N/A], e.g. some MIG / vGPU setups): no memory_mib', 'NVIDIA A100-SXM4-40GB, 525.85.12, [N/A]\n', { gpus: [{ name: 'NVIDIA A100-SXM4-40GB', driver: '525.85.12' }] }],
      ['no output at all (no GPUs listed)', '', { gpus: [] }],
      [
        'a driver message instead of rows',
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n",
        {
          gpus: [],
          error: 'unexpected nvidia-smi output: "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running."',
        },
      ],
      [
        'good rows kept beside a bad one',
        'NVIDIA L4, 535.1, 23034\nwhat, is\n',
        { gpus: [{ name: 'NVIDIA L4', driver: '535.1', memory_mib: 23034 }], error: 'unexpected nvidia-smi output: "what, is"' },
      ],
    ];
    for (const [name, text, parsed] of cases) it(name, () => expect(parseNvidiaSmi(text)).to.deep.equal(parsed));

    const runs: [string, Parameters<typeof gpuFacts>[0], ReturnType<typeof gpuFacts>][] = [
      ['exit 0', { status: 0, signal: null, stdout: 'NVIDIA T4, 1.2, 15360\n', stderr: '' }, { gpus: [{ name: 'NVIDIA T4', driver: '1.2', memory_mib: 15360 }] }],
      [
        'no devices (exit 6): null with the message',
        { status: 6, signal: null, stdout: 'No devices were found\n', stderr: '' },
        { gpus: null, gpu_error: 'nvidia-smi exited with 6: No devices were found' },
      ],
      ['unparsable output only: null with why', { status: 0, signal: null, stdout: 'garbage\n', stderr: '' }, { gpus: null, gpu_error: 'unexpected nvidia-smi output: "garbage"' }],
      [
        'timed out',
        { status: null, signal: 'SIGKILL', stdout: '', stderr: '', error: Object.assign(new Error('spawnSync nvidia-smi ETIMEDOUT'), { code: 'ETIMEDOUT' }) },
        { gpus: null, gpu_error: 'nvidia-smi did not answer within 100 ms' },
      ],
      [
        'could not be run',
        { status: null, signal: null, stdout: '', stderr: '', error: Object.assign(new Error('spawn EACCES'), { code: 'EACCES' }) },
        { gpus: null, gpu_error: 'nvidia-smi could not be run: spawn EACCES' },
      ],
    ];
    for (const [name, run, facts] of runs) it(`a run that ${name}`, () => expect(gpuFacts(run, 100)).to.deep.equal(facts));
  });

  describe('with a fake nvidia-smi on PATH (sync and async agree)', () => {
    let dir: { dir: string; cleanup: () => void };
    beforeEach(() => (dir = tempDir('mlcube-smi-')));
    afterEach(() => dir.cleanup());
    const env = (extra: Record<string, string>) => ({ PATH: `${FAKE_SMI_DIR}:/usr/bin:/bin`, FAKE_NVIDIA_SMI_LOG: join(dir.dir, 'log'), ...extra });
    const both = async (extra: Record<string, string>, timeoutMs?: number): Promise<HostFacts[]> => [hostFacts({ env: env(extra), timeoutMs }), await hostFactsAsync({ env: env(extra), timeoutMs })];

    it('machine facts from node:os; GPUs from the query, asked with exactly those arguments', async () => {
      for (const f of await both({ FAKE_NVIDIA_SMI_OUTPUT: 'NVIDIA H200, 550.54.15, 143771\\nNVIDIA H200, 550.54.15, 143771\\n' })) {
        expect(f).to.deep.equal({
          cpu_model: cpus()[0]?.model.trim() || 'unknown',
          cpu_count: cpus().length,
          memory_bytes: totalmem(),
          gpus: [
            { name: 'NVIDIA H200', driver: '550.54.15', memory_mib: 143771 },
            { name: 'NVIDIA H200', driver: '550.54.15', memory_mib: 143771 },
          ],
        });
      }
      expect(readFileSync(join(dir.dir, 'log'), 'utf8')).to.equal('--query-gpu=name,driver_version,memory.total --format=csv,noheader,nounits\n'.repeat(2));
    });

    it('a failing nvidia-smi is gpus: null with gpu_error, never a throw', async () => {
      for (const f of await both({ FAKE_NVIDIA_SMI_OUTPUT: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\\n", FAKE_NVIDIA_SMI_EXIT: '9' })) {
        expect(f.gpus).to.equal(null);
        expect(f.gpu_error).to.equal("nvidia-smi exited with 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.");
      }
    });

    it('a hung nvidia-smi is cut off at the timeout', async () => {
      const started = Date.now();
      for (const f of await both({ FAKE_NVIDIA_SMI_SLEEP: '5' }, 300)) expect(f).to.include({ gpus: null, gpu_error: 'nvidia-smi did not answer within 300 ms' });
      expect(Date.now() - started).to.be.lessThan(3000);
    });

    it('no nvidia-smi on PATH: gpus null, no error', async () => {
      for (const f of [hostFacts({ env: { PATH: dir.dir } }), await hostFactsAsync({ env: { PATH: dir.dir } })]) {
        expect(f.gpus).to.equal(null);
        expect(f).to.not.have.property('gpu_error');
        expect(f.cpu_count).to.be.greaterThan(0);
      }
    });
  });
});
