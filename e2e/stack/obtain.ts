import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cacheRoot, STACK_SOURCES } from './paths.js';
import { isAlive, requireTool, runLogged, sleep, StackError } from './proc.js';
import { VERSIONS } from './versions.js';

/**
 * Gets the servers' binaries and jars into the per-user cache, once per version. Each result is
 * built in a scratch directory and renamed into place, so an interrupted build never leaves a
 * half-filled cache entry; a lock directory keeps two stacks from building the same entry at once.
 */

export interface Obtained {
  dir: string;
  /** Seconds spent obtaining it in this call; 0 when it came from the cache. */
  seconds: number;
}

export async function obtainOnce(entry: string, log: (line: string) => void, produce: (scratch: string, logFile: string) => Promise<void>): Promise<Obtained> {
  const root = cacheRoot();
  const dir = path.join(root, entry);
  if (fs.existsSync(path.join(dir, '.complete'))) return { dir, seconds: 0 };
  fs.mkdirSync(root, { recursive: true });
  const lock = `${dir}.lock`;
  await acquire(lock, entry, log);
  try {
    if (fs.existsSync(path.join(dir, '.complete'))) return { dir, seconds: 0 };
    const started = Date.now();
    const scratch = `${dir}.tmp-${process.pid}`;
    fs.rmSync(scratch, { recursive: true, force: true });
    fs.mkdirSync(scratch, { recursive: true });
    const logFile = path.join(root, 'build-logs', `${entry}.log`);
    log(`obtaining ${entry} (first time on this machine; log: ${logFile})`);
    await produce(scratch, logFile);
    const seconds = (Date.now() - started) / 1000;
    fs.writeFileSync(path.join(scratch, '.complete'), JSON.stringify({ seconds, at: new Date().toISOString() }) + '\n');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(scratch, dir);
    log(`obtained ${entry} in ${seconds.toFixed(0)} s`);
    return { dir, seconds };
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

async function acquire(lock: string, entry: string, log: (line: string) => void): Promise<void> {
  let told = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      return;
    } catch {
      const owner = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8').trim() || '0');
      if (owner && !isAlive(owner)) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!told) log(`waiting for another process (pid ${owner}) to finish obtaining ${entry}`);
      told = true;
      await sleep(1000);
    }
  }
}

const GO_HINT = 'Go 1.26+ from your distribution or go.dev, with the Go module proxy reachable';
const MAVEN_HINT = 'Java 17 and Maven (e.g. apt-get install openjdk-17-jdk-headless maven)';

/** With `binary`, the one package is written under that name (etcd's main package is named `server`). */
function goBuild(wrapper: string, packages: string[], binary?: string) {
  return async (scratch: string, logFile: string) => {
    requireTool('go', 'build the Kubernetes and etcd servers', GO_HINT);
    const output = binary ? path.join(scratch, binary) : scratch + path.sep;
    await runLogged('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', output, ...packages], {
      cwd: path.join(STACK_SOURCES, 'go', wrapper),
      env: { CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
      logFile,
    });
  };
}

function mavenCopy(pom: string, exclude: string[] = []) {
  return async (scratch: string, logFile: string) => {
    requireTool('java', 'run Kafka and HBase', MAVEN_HINT);
    requireTool('mvn', 'fetch the Kafka and HBase jars from Maven Central', MAVEN_HINT);
    const args = ['-B', '-q', 'dependency:copy-dependencies', `-DoutputDirectory=${path.join(scratch, 'lib')}`, '-DincludeScope=runtime'];
    if (exclude.length) args.push(`-DexcludeArtifactIds=${exclude.join(',')}`);
    await runLogged('mvn', args, { cwd: path.join(STACK_SOURCES, 'maven', pom), logFile });
  };
}

/** kube-apiserver and kube-controller-manager, built from the wrapper module in e2e/stack/go/kube. */
export function obtainKubernetes(log: (line: string) => void): Promise<Obtained> {
  return obtainOnce(`kubernetes-${VERSIONS.kubernetes}`, log, goBuild('kube', ['k8s.io/kubernetes/cmd/kube-apiserver', 'k8s.io/kubernetes/cmd/kube-controller-manager']));
}

/** kubectl from the same wrapper, only for machines that have none on PATH. */
export function obtainKubectl(log: (line: string) => void): Promise<Obtained> {
  return obtainOnce(`kubectl-${VERSIONS.kubernetes}`, log, goBuild('kube', ['k8s.io/kubernetes/cmd/kubectl']));
}

export function obtainEtcd(log: (line: string) => void): Promise<Obtained> {
  return obtainOnce(`etcd-${VERSIONS.etcd}`, log, goBuild('etcd', ['go.etcd.io/etcd/server/v3'], 'etcd'));
}

/** helm v3 for the chart's lint/template tests, from the wrapper module in e2e/stack/go/helm. */
export function obtainHelm(log: (line: string) => void): Promise<Obtained> {
  return obtainOnce(`helm-${VERSIONS.helm}`, log, goBuild('helm', ['helm.sh/helm/v3/cmd/helm'], 'helm'));
}

export function obtainKafka(log: (line: string) => void): Promise<Obtained> {
  return obtainOnce(`kafka-${VERSIONS.kafka}`, log, mavenCopy('kafka'));
}

export function obtainHBase(log: (line: string) => void): Promise<Obtained> {
  // Hadoop's reload4j binding would compete with log4j2 for slf4j.
  return obtainOnce(`hbase-${VERSIONS.hbase}`, log, mavenCopy('hbase', ['slf4j-reload4j', 'reload4j', 'slf4j-log4j12']));
}

/**
 * Apicurio Registry, built as a Quarkus application by the Maven project in e2e/stack/maven/registry.
 * The key holds a hash of that project too: a change to its pom or settings rebuilds it.
 */
export function obtainRegistry(log: (line: string) => void): Promise<Obtained> {
  const project = path.join(STACK_SOURCES, 'maven', 'registry');
  return obtainOnce(`apicurio-registry-${VERSIONS.registry}-${treeHash(project, ['pom.xml', 'src'])}`, log, async (scratch, logFile) => {
    requireTool('java', 'run the schema registry', MAVEN_HINT);
    requireTool('mvn', 'build the schema registry from Maven Central', MAVEN_HINT);
    const build = path.join(scratch, 'build');
    await runLogged('mvn', ['-B', '-q', 'package', '-DskipTests', `-Dadpipe.build.dir=${build}`], { cwd: project, logFile });
    fs.renameSync(path.join(build, 'schema-registry-runner.jar'), path.join(scratch, 'schema-registry-runner.jar'));
    fs.renameSync(path.join(build, 'lib'), path.join(scratch, 'lib'));
    fs.rmSync(build, { recursive: true, force: true });
  });
}

/**
 * A short hash of the files under `root` named by `entries` (files or folders, walked in order) and
 * of `salt`: the cache key of a project built from those sources.
 */
export function treeHash(root: string, entries: string[], salt = ''): string {
  const hash = crypto.createHash('sha256').update(salt);
  const walk = (at: string): string[] =>
    fs.statSync(at).isDirectory()
      ? fs
          .readdirSync(at)
          .sort()
          .flatMap((name) => walk(path.join(at, name)))
      : [at];
  for (const file of entries.flatMap((entry) => walk(path.join(root, entry)))) {
    hash.update(path.relative(root, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

const APT_HINT = 'a Debian 12 (bookworm) apt-get with its package lists (apt-get update as root once), or build prometheus and alertmanager from the Go module proxy and put them in the cache directory named above';

/**
 * One Debian package's files, unpacked without installing (`apt-get download` + `dpkg -x`, no root
 * needed): the binaries are static Go builds, so nothing else from the package is used.
 */
function debianPackage(name: string, version: string, binaries: Record<string, string>) {
  return async (scratch: string, logFile: string) => {
    requireTool('apt-get', `download the ${name} package`, APT_HINT);
    requireTool('dpkg', `unpack the ${name} package`, APT_HINT);
    const download = path.join(scratch, 'deb');
    const fetchDeb = () => runLogged('apt-get', ['download', `${name}=${version}`], { cwd: download, logFile });
    try {
      await fetchDeb().catch(async (error: unknown) => {
        // A fresh machine may have no package lists yet: as root (and unless told not to), fetch them once.
        if (process.getuid?.() !== 0 || process.env['ADPIPE_NO_APT'] === '1') throw error;
        await runLogged('apt-get', ['update', '-q'], { cwd: download, logFile });
        await fetchDeb();
      });
    } catch (error) {
      throw new StackError(`apt-get could not download ${name}=${version} (${error instanceof Error ? error.message.split('\n')[0] : String(error)}). Needs ${APT_HINT}`, { cause: error });
    }
    const deb = fs.readdirSync(download).find((file) => file.endsWith('.deb'));
    if (!deb) throw new StackError(`apt-get download ${name}=${version} left no .deb in ${download}`);
    const unpacked = path.join(scratch, 'root');
    await runLogged('dpkg', ['-x', path.join(download, deb), unpacked], { cwd: scratch, logFile });
    fs.mkdirSync(path.join(scratch, 'bin'));
    for (const [from, to] of Object.entries(binaries)) fs.renameSync(path.join(unpacked, from), path.join(scratch, 'bin', to));
    fs.rmSync(unpacked, { recursive: true, force: true });
    fs.rmSync(download, { recursive: true, force: true });
  };
}

/** prometheus and promtool (`bin/`), from Debian's package. */
export function obtainPrometheus(log: (line: string) => void): Promise<Obtained> {
  return obtainOnce(`prometheus-${VERSIONS.prometheus}`, log, debianPackage('prometheus', VERSIONS.prometheus, { 'usr/bin/prometheus': 'prometheus', 'usr/bin/promtool': 'promtool' }));
}

/**
 * alertmanager and amtool, built from the Go module proxy (wrapper in e2e/stack/go/alertmanager):
 * Debian's package reads its notification templates from a fixed /usr/share path, which only an
 * installed package has; the upstream build embeds them.
 */
export function obtainAlertmanager(log: (line: string) => void): Promise<Obtained> {
  return obtainOnce(`alertmanager-${VERSIONS.alertmanager}`, log, goBuild('alertmanager', ['github.com/prometheus/alertmanager/cmd/alertmanager', 'github.com/prometheus/alertmanager/cmd/amtool']));
}

export function assertFile(file: string): string {
  if (!fs.existsSync(file)) throw new StackError(`expected ${file} after obtaining it; remove its cache directory and run again`);
  return file;
}
