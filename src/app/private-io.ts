import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { DecryptError, MlcubeError, ParameterError } from '../errors.js';
import { decryptPath, encryptPath } from '../crypto/files.js';
import { keyOpener, parseKey, readKeyFile, readRecipient, recipientSealer } from '../crypto/keys.js';
import type { Logger } from '../log.js';
import type { ParamEncryption, ResolvedParam } from '../params/resolve.js';
import { withPrivatePaths } from '../params/private-paths.js';
import { planMounts } from '../params/mounts.js';
import type { PlannedTask, RunPlan } from '../plan/run-plan.js';
import { makePrivatePlace, removePrivatePlace } from '../private-places.js';

/** A task's encrypted parameters opened for one run of it: the task as the runner must see it, and what follows. */
export interface PrivateIo {
  /** The task with every encrypted parameter pointing into the private place (the same task when it has none). */
  task: PlannedTask;
  /** After the task succeeded: seals each encrypted output into its parameter's path. */
  seal(): Promise<void>;
  /** Removes the private place and the plaintext in it (also after a failure). */
  close(): void;
}

/** How long a key-release command may take. */
const KEY_COMMAND_TIMEOUT_MS = 60_000;

/**
 * Opens a task's encrypted parameters (README "Encrypted inputs and outputs"): each input decrypted into a new
 * private place (memory-backed, 0700, outside the workspace), each output given a path there; the task is re-planned
 * to see those (a container runner mounts them). Nothing is decrypted when any key cannot be had; a failed
 * decryption (DecryptError, exit 5) leaves no plaintext.
 */
export async function openPrivateIo(task: PlannedTask, plan: RunPlan, env: Record<string, string | undefined>, signal: AbortSignal, log: Logger): Promise<PrivateIo> {
  const sealed = task.params.filter((p) => p.encryption);
  if (sealed.length === 0) return { task, seal: async () => undefined, close: () => undefined };
  const place = makePrivatePlace();
  try {
    const places = new Map<string, string>();
    for (const p of sealed) {
      const at = join(place, `${p.io}-${p.name}`);
      places.set(`${p.io}\u0000${p.name}`, at);
      if (p.io === 'input') {
        const key = await keyOf(p.encryption!, p, task.name, env, signal).catch((e: unknown) => {
          // The task's record is begun by now: a key that cannot be had is an input that cannot be opened (exit 5), not a usage error.
          if (e instanceof MlcubeError && !(e instanceof DecryptError)) throw new DecryptError(e.detail, { place: { task: task.name, parameter: p.name }, suggestions: e.suggestions });
          throw e;
        });
        const r = await decryptPath(p.hostPath, at, keyOpener(key, sourceOf(p.encryption!)), { signal });
        if (r.kind !== p.type) {
          throw new DecryptError(`${p.hostPath} holds a ${r.kind}, but the parameter is a ${p.type}`, {
            place: { task: task.name, parameter: p.name },
            suggestions: [`Declare type: ${r.kind}, or point the parameter at the encrypted ${p.type}.`],
          });
        }
        log.info(`task "${task.name}": decrypted input "${p.name}" into its private place (key ${r.key_fingerprint.slice(0, 12)}...)`);
      } else if (p.type === 'directory') mkdirSync(at, { mode: 0o700 });
    }
    const resolved = withPrivatePaths(task, places);
    const mounts = task.mounts ? planMounts(resolved, plan.settings.mountMode) : null;
    const opened: PlannedTask = { ...task, params: resolved.params, mounts, containerPaths: mounts ? mounts.args.map((a) => a.slice(a.indexOf('=') + 1)) : task.containerPaths };
    return {
      task: opened,
      seal: async () => {
        for (const p of sealed.filter((x) => x.io === 'output')) {
          const at = places.get(`output\u0000${p.name}`)!;
          if (!statSync(at, { throwIfNoEntry: false })) {
            log.warn(`task "${task.name}": output "${p.name}" was not written: nothing to seal`);
            continue;
          }
          mkdirSync(dirname(p.hostPath), { recursive: true });
          const r = await encryptPath(at, p.hostPath, recipientSealer(readRecipient(p.encryption!.kind === 'recipient' ? p.encryption!.path : '')), { force: true });
          log.info(`task "${task.name}": sealed output "${p.name}" to ${p.hostPath} for recipient ${r.key_fingerprint.slice(0, 12)}...`);
        }
      },
      close: () => removePrivatePlace(place),
    };
  } catch (e) {
    removePrivatePlace(place);
    throw e;
  }
}

const sourceOf = (e: ParamEncryption) =>
  e.kind === 'key_env' ? `in $${e.name}` : e.kind === 'key_command' ? `from the command ${JSON.stringify(e.command)}` : `file ${e.kind === 'key_file' ? e.path : ''}`;

/** The 32-byte key of an encrypted input, from its key file, its environment variable or its key-release command. */
async function keyOf(e: ParamEncryption, p: ResolvedParam, task: string, env: Record<string, string | undefined>, signal: AbortSignal): Promise<Buffer> {
  const place = { task, parameter: p.name };
  if (e.kind === 'key_file') return readKeyFile(e.path, 'encryption.key_file');
  if (e.kind === 'key_env') {
    const v = env[e.name];
    if (v === undefined || v === '')
      throw new ParameterError(`the key of encrypted input "${p.name}" is to come from $${e.name}, which is not set`, { place, suggestions: [`export ${e.name}=<64 hex digits> before mlcube run.`] });
    return parseKey(Buffer.from(v, 'latin1'), `in $${e.name}`);
  }
  if (e.kind === 'key_command') {
    const r = await execa(e.argv[0], e.argv.slice(1), { reject: false, encoding: 'buffer', stripFinalNewline: false, timeout: KEY_COMMAND_TIMEOUT_MS, cancelSignal: signal, stdin: 'ignore' });
    if (r.exitCode !== 0 || r.failed) {
      throw new ParameterError(
        `the key-release command ${JSON.stringify(e.command)} of encrypted input "${p.name}" failed (${r.timedOut ? 'timed out' : `exit code ${r.exitCode ?? 'none'}`}): ${
          Buffer.from(r.stderr ?? '')
            .toString('utf8')
            .trim()
            .split('\n')
            .slice(-1)[0] ?? ''
        }`,
        {
          place,
          suggestions: ['Run the command by hand: its stdout must be the key (32 raw bytes or 64 hex digits) and its exit code 0.'],
        },
      );
    }
    return parseKey(Buffer.from(r.stdout as Uint8Array), `from the command ${JSON.stringify(e.command)}`);
  }
  throw new Error(`internal: ${e.kind} is no input key source`);
}
