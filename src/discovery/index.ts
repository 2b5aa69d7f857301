/**
 * redstack/discovery: node discovery and health registry ("redgrid").
 */
export { joinGrid, Grid, type GridOptions } from './grid.js';
export { watchGrid, GridView, type ViewOptions, type GridEvents } from './view.js';
export type { NodeInfo, LeaveReason, SuspectReason } from './detector.js';
export type { Json, Meta } from './meta.js';
export { SYSTEM_FIELDS, DEFAULT_MAX_META_BYTES } from './meta.js';
export { DiscoveryError, type DiscoveryErrorCode } from './errors.js';
export { gridKeys, type GridKeys } from './scripts.js';
export { Registry, type Snapshot, type SnapshotNode, type Stamp } from './registry.js';
