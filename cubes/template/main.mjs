// Entry point of the cube: `node main.mjs <task> --name=value ...` (inputs then outputs).
// Exit non-zero on failure: the runtime reports the task as failed with this code.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [task, ...rest] = process.argv.slice(2);
const args = Object.fromEntries(rest.map((a) => /^--([^=]+)=(.*)$/s.exec(a)?.slice(1) ?? [a, '']));

const tasks = {
  greet() {
    const name = readFileSync(args.name_file, 'utf8').trim();
    writeFileSync(join(args.out_dir, 'greeting.txt'), `Hello, ${name}!\n`);
  },
};

if (!tasks[task]) {
  process.stderr.write(`unknown task "${task}"; tasks: ${Object.keys(tasks).join(', ')}\n`);
  process.exit(2);
}
try {
  tasks[task]();
} catch (e) {
  process.stderr.write(`${task} failed: ${e.message}\n`);
  process.exit(1);
}
