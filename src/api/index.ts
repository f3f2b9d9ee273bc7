export * from './names';
export * from './types';
