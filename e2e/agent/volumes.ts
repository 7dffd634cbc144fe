import fs from 'node:fs';
import path from 'node:path';
import type { V1Pod, V1Volume } from '@kubernetes/client-node';
import { volumeFiles, type VolumeSources } from './materialize.js';

/**
 * Writes a Pod's volumes into `<podDir>/volumes/<name>` as a kubelet lays them out: ConfigMap,
 * Secret and projected keys as files with their modes, emptyDir world-writable, and with `fsGroup` every volume
 * owned by that group and readable (emptyDir: writable) by it — without it a non-root container
 * could not read a Secret mounted with mode 0440, as on a real node.
 */
export function writeVolumes(pod: V1Pod, podDir: string, sources: VolumeSources): void {
  const fsGroup = pod.spec?.securityContext?.fsGroup;
  for (const volume of pod.spec?.volumes ?? []) {
    const dir = volumeDir(podDir, volume.name);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    for (const file of volumeFiles(pod, volume, sources)) {
      fs.mkdirSync(path.dirname(path.join(dir, file.path)), { recursive: true });
      fs.writeFileSync(path.join(dir, file.path), file.content, { mode: file.mode });
      // writeFileSync's mode is masked by the umask; the volume's mode is what the Pod asked for.
      fs.chmodSync(path.join(dir, file.path), file.mode);
    }
    if (volume.emptyDir) fs.chmodSync(dir, 0o777);
    if (fsGroup !== undefined) applyFsGroup(dir, fsGroup, writable(volume));
  }
}

export function volumeDir(podDir: string, volumeName: string): string {
  return path.join(podDir, 'volumes', volumeName);
}

const writable = (volume: V1Volume) => !volume.configMap && !volume.secret && !volume.projected;

/** The kubelet's SetVolumeOwnership: group → fsGroup, group read (and write) bits, setgid dirs. */
function applyFsGroup(target: string, gid: number, rw: boolean): void {
  const stat = fs.lstatSync(target);
  if (stat.isSymbolicLink()) return;
  // -1 keeps the owner; only the group changes.
  fs.chownSync(target, -1, gid);
  if (stat.isDirectory()) {
    fs.chmodSync(target, (stat.mode & 0o7777) | 0o2000 | (rw ? 0o070 : 0o050));
    for (const name of fs.readdirSync(target)) applyFsGroup(path.join(target, name), gid, rw);
  } else {
    fs.chmodSync(target, (stat.mode & 0o7777) | (rw ? 0o060 : 0o040));
  }
}
