import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from './assets';

/**
 * This package's version, read from its package.json: the one place `kubeopencode-controller version` and the default
 * controller image tag come from.
 */
export const PACKAGE_VERSION: string = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version;
