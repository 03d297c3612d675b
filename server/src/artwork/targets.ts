/**
 * Target policies the OPE CLI and the admin route can evaluate on any log:
 * - uniform: every available action equally likely;
 * - priors: greedy on per-action reward rates (shrunk to the mean), fitted on the first half of the log and
 *   evaluated on the second half, so the target is not judged on the data that chose it.
 */
import { artwork as aw } from '@marquee/core';

export const TARGETS = ['uniform', 'priors'] as const;
export type TargetName = (typeof TARGETS)[number];

export function buildTarget(name: TargetName, log: readonly aw.LoggedDecision[]): { log: readonly aw.LoggedDecision[]; target: aw.TargetPolicy; note: string } {
  if (name === 'uniform') return { log, target: aw.uniformTarget, note: 'uniform over the available actions' };
  const half = Math.floor(log.length / 2);
  const rates = aw.actionRates(log.slice(0, half));
  return {
    log: log.slice(half),
    target: aw.greedyTarget((d, a) => rates(d.actions[a]!.id)),
    note: `greedy on per-action rates fitted on the first ${half} decisions, evaluated on the other ${log.length - half}`,
  };
}
