export * from './vocabulary';
export * from './controller-env';
export * from './names';
export * from './types';
