export * from './api';
export { Agent, AgentProps } from './constructs/agent';
export { IAgentTemplate } from './constructs/lookup';
export { mergeTemplate } from './constructs/merge';
export { SystemImages } from './pod/system';
export { ValidationError } from './validation';
