export * from './vocabulary';
export * from './controller-env';
export * from './label-sets';
export * from './names';
export * from './types';
