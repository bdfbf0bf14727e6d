// The workflow bundle's entry: every workflow the worker runs is exported from here.
export { eventWorkflow } from './event-workflow.js';
export { subscriberWorkflow } from './subscriber-workflow.js';
