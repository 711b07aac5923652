/**
 * `byzpax/faults`: Byzantine replicas on demand (each strategy lies with a real key) and the live
 * nemesis (`runNemesis`: a cluster of replica processes under kills, partitions and a Byzantine
 * replica). The nemesis starts `byzpax replica` processes; the strategies alone are pure.
 */
export {
  createByzantineNode,
  startByzantineNode,
  strategies,
  strategyNames,
  isStrategyName,
  defaultTuning,
  InMemoryCollusionHub,
  type StrategyName,
  type StrategyContext,
  type StrategyTuning,
  type ByzantineNode,
  type CollusionHub,
} from './registry.ts';
export { runNemesis, type NemesisOptions, type NemesisReport } from './nemesis.ts';
