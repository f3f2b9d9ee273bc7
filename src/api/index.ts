export * from './conditions';
export * from './controller';
export * from './names';
export * from './types';
