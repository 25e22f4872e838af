export { deptMapping } from './dept.js';
export * from './types.js';
