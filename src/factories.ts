/**
 * Typed conveniences: each returns the same plain spec object the YAML would have, so both spellings meet in one code
 * path (`Context.git({...})` is `{ type: 'Git', git: {...}, ... }`).
 */
import { CaBundleSpec, ContextItem, CredentialSpec, GitContext } from './api';

type ContextOptions = Pick<ContextItem, 'name' | 'description' | 'mountPath'>;

export class Context {
  /** Inline text; without mountPath it joins .kubeopencode/context.md. */
  static text(text: string, opts: ContextOptions = {}): ContextItem {
    return { ...opts, type: 'Text', text };
  }

  /** A Git repository checked out at `mountPath` in the workspace (required for Git contexts). */
  static git(git: GitContext, opts: ContextOptions & { mountPath: string }): ContextItem {
    return { ...opts, type: 'Git', git };
  }

  /** A ConfigMap: all keys (or `key`) as files at mountPath, or into context.md without one. */
  static configMap(name: string, opts: ContextOptions & { key?: string; optional?: boolean; fileMode?: number } = {}): ContextItem {
    const { key, optional, fileMode, ...rest } = opts;
    return { ...rest, type: 'ConfigMap', configMap: { name, key, optional }, fileMode };
  }

  /** Content fetched over HTTP(S) by url-fetch. */
  static url(source: string, opts: ContextOptions & { timeout?: string } = {}): ContextItem {
    const { timeout, ...rest } = opts;
    return { ...rest, type: 'URL', url: { source, timeout } };
  }

  /** The platform-awareness system prompt (always into context.md). */
  static runtime(name?: string): ContextItem {
    return { name, type: 'Runtime' };
  }
}

export class Credential {
  /** A Secret key as an environment variable. */
  static env(name: string, secretName: string, key: string, env: string): CredentialSpec {
    return { name, secretRef: { name: secretName, key }, env };
  }

  /** A Secret key as a file at `mountPath` (or, without `key`, every key as a file in the directory `mountPath`). */
  static file(name: string, secretName: string, mountPath: string, opts: { key?: string; fileMode?: number } = {}): CredentialSpec {
    return { name, secretRef: { name: secretName, key: opts.key }, mountPath, fileMode: opts.fileMode };
  }
}

export class CaBundle {
  /** A ConfigMap holding the PEM bundle (trust-manager's convention: key ca-bundle.crt). */
  static fromConfigMap(name: string, key?: string): CaBundleSpec {
    return { configMapRef: { name, key } };
  }

  /** A Secret holding the PEM bundle (key ca.crt by default). */
  static fromSecret(name: string, key?: string): CaBundleSpec {
    return { secretRef: { name, key } };
  }
}
