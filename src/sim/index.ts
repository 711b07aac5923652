/**
 * `byzpax/sim`: the deterministic simulator — `Simulation`, seed sweeps, Twins, and the broken
 * select rules it must catch. Single process, simulated network and time: no lmdb, ws or pino.
 */
export { Simulation, defaultSimOptions, simCluster, type SimOptions, type SimResult, type ScriptedFault } from './simulation.ts';
export { runSweep, sweepOptions, type SweepOptions, type SweepSummary } from './run.ts';
export {
  runTwins,
  runTwinsScenario,
  enumerateTwinsScenarios,
  twinsScenario,
  twinsScenarioCount,
  twinsPartitions,
  twinsOptions,
  defaultTwinsOptions,
  spreadStride,
  type TwinsOptions,
  type TwinsScenario,
  type TwinsResult,
  type TwinsSummary,
} from './twins.ts';
export { brokenSelectRules } from './broken-select-rules.ts';
export { Prng } from '../random/prng.ts';
