import type { LrSchedule } from './schema.js';

/** The learning rate of `epoch` (1-based) under `schedule`, starting from `lr` (see lr_schedule in the schema). */
export function learningRateAt(lr: number, schedule: LrSchedule, epoch: number): number {
  const e = epoch - 1;
  switch (schedule.type) {
    case 'constant':
      return lr;
    case 'step':
      return lr * schedule.factor ** Math.floor(e / schedule.every_epochs);
    case 'exponential':
      return lr * schedule.factor ** e;
    case 'cyclic': {
      // Triangular (Smith 2017), starting at the top: down to min_learning_rate in half a period, back up in the other half.
      const phase = (e % schedule.period_epochs) / schedule.period_epochs;
      const down = 1 - Math.abs(1 - 2 * phase);
      return lr - (lr - schedule.min_learning_rate) * down;
    }
  }
}
