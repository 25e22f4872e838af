/**
 * Demo city simulator: a seeded, deterministic 一网统管 city (sensors, video-AI alerts, 12345 hotline, city events,
 * departmental deliveries) with the exact ground truth of the marts. See README.md.
 */
export { buildDemoCity, clearPhones, historyMessages } from './city.js';
export { videoEventCodes } from './codes.js';
export { evaluationTruth, expectedCounts, groundTruth, TARGET_RATE } from './ground-truth.js';
export { liveMessages } from './live.js';
export type {
  DataSharingRow,
  DemoCatalogs,
  DemoCity,
  DemoOptions,
  Feed,
  FeedCounts,
  GroundTruth,
  RawMessage,
  ScenarioCoverageRow,
  ScenarioStatusRow,
} from './types.js';
export { feeds } from './types.js';
