import * as fs from 'fs';
import * as path from 'path';
import { IMAGES, UPSTREAM_RELEASE } from '../../src';

const repoOf = (image: string) => image.replace(/:[^:/]+$/, '');
const tagOf = (image: string) => image.slice(repoOf(image).length + 1);

describe('default images are ones a cluster can pull', () => {
  test('agent, executor and attach are upstream\'s published images at a release tag its release workflow pushes', () => {
    expect(UPSTREAM_RELEASE).toMatch(/^v\d+\.\d+\.\d+$/);
    expect([IMAGES.agent, IMAGES.executor, IMAGES.attach].map(repoOf)).toEqual([
      'ghcr.io/kubeopencode/kubeopencode-agent-opencode',
      'ghcr.io/kubeopencode/kubeopencode-agent-devbox',
      'ghcr.io/kubeopencode/kubeopencode-agent-attach',
    ]);
    for (const i of [IMAGES.agent, IMAGES.executor, IMAGES.attach]) expect(tagOf(i)).toBe(UPSTREAM_RELEASE);
  });

  test('our controller image is the one our release workflow builds and pushes', () => {
    const workflow = fs.readFileSync(path.join(__dirname, '..', '..', '.github', 'workflows', 'release.yml'), 'utf8');
    const pushed = [...workflow.matchAll(/^\s+(ghcr\.io\/[^\s:]+):\$\{\{ env\.VERSION \}\}$/gm)].map((m) => m[1]);
    expect(pushed).toEqual([repoOf(IMAGES.controller)]);
    const version = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
    // the default tag follows the package version once it is released (issue 16 derives one from the other)
    expect(tagOf(IMAGES.controller)).toMatch(/^\d+\.\d+\.\d+$/);
    expect(typeof version).toBe('string');
  });

  test('system images are pinned, never :latest', () => {
    for (const i of Object.values(IMAGES)) {
      expect(tagOf(i)).toMatch(/^[\w][\w.-]*$/);
      expect(tagOf(i)).not.toBe('latest');
    }
  });
});
