import type { V1Container, V1PodSecurityContext } from '@kubernetes/client-node';
import { podmanRunArgs, quantity, type PodmanRunInput } from './podman-args.js';

// Pure: a Pod's container → `podman run` arguments, the securityContext as a kubelet applies it.

const worker: V1Container = {
  name: 'worker',
  image: 'adpipe:0.1.0',
  command: ['node', 'dist/runtime/main.js', '--config', '/etc/adpipe/pipeline.json'],
  resources: { limits: { memory: '512Mi', cpu: '250m' } },
  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
  volumeMounts: [
    { name: 'config', mountPath: '/etc/adpipe/pipeline.json', subPath: 'pipeline.json', readOnly: true },
    { name: 'scratch', mountPath: '/scratch' },
  ],
};

function input(container: V1Container, podSecurity: V1PodSecurityContext = {}, imageUser = '1000:1000'): PodmanRunInput {
  return {
    pod: { metadata: { name: 'p', namespace: 'ns', uid: 'uid-1' }, spec: { securityContext: podSecurity, containers: [container], volumes: [{ name: 'config', configMap: { name: 'c' } }, { name: 'scratch', emptyDir: {} }] } },
    container,
    env: { ADPIPE_HTTP_PORT: '41000' },
    volumeDir: (name) => `/pods/p/volumes/${name}`,
    imageUser,
    serviceAccount: { server: 'https://127.0.0.1:6443' },
    name: 'k8s_worker_p_ns_uid-1_0',
    labels: { 'io.adpipe.agent.node': 'node-a', 'io.kubernetes.pod.uid': 'uid-1' },
    cidFile: '/pods/p/worker.0.cid',
    ulimits: ['--ulimit', 'nofile=1024:1024'],
  };
}

test('the worker Deployment’s container: its user, read-only root, no capabilities, no privilege escalation, limits, mounts, env, command', () => {
  expect(podmanRunArgs(input(worker, { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } }))).toEqual([
    'run', '--rm', '--pull=never', '--sig-proxy=false', '--name', 'k8s_worker_p_ns_uid-1_0', '--cidfile', '/pods/p/worker.0.cid', '--network=host', '--ulimit', 'nofile=1024:1024',
    '--label', 'io.adpipe.agent.node=node-a', '--label', 'io.kubernetes.pod.uid=uid-1',
    '--user', '10001', '--read-only', '--read-only-tmpfs=false', '--cap-drop', 'all', '--security-opt', 'no-new-privileges',
    '--memory', String(512 * 1024 * 1024), '--cpus', '0.25',
    '--volume', '/pods/p/volumes/config/pipeline.json:/etc/adpipe/pipeline.json:ro', '--volume', '/pods/p/volumes/scratch:/scratch',
    '--env', 'ADPIPE_HTTP_PORT=41000', '--env', 'KUBERNETES_SERVICE_HOST=127.0.0.1', '--env', 'KUBERNETES_SERVICE_PORT=6443',
    '--entrypoint', '["node","dist/runtime/main.js","--config","/etc/adpipe/pipeline.json"]', 'adpipe:0.1.0',
  ]);
});

test('command replaces the entrypoint, args alone replace the command; groups, fsGroup, added capabilities, seccomp', () => {
  const args = podmanRunArgs(input({ name: 'c', image: 'img', args: ['--flag'], securityContext: { capabilities: { add: ['NET_BIND_SERVICE'] }, runAsGroup: 3000 } }, { supplementalGroups: [5], fsGroup: 2000, seccompProfile: { type: 'Unconfined' } }));
  expect(args.slice(args.indexOf('--user'))).toEqual([
    '--user', '1000:3000', '--group-add', '5', '--group-add', '2000', '--cap-add', 'NET_BIND_SERVICE', '--security-opt', 'seccomp=unconfined',
    '--env', 'ADPIPE_HTTP_PORT=41000', '--env', 'KUBERNETES_SERVICE_HOST=127.0.0.1', '--env', 'KUBERNETES_SERVICE_PORT=6443', 'img', '--flag',
  ]);
});

test('runAsNonRoot is verified as the kubelet verifies it, against the user and the image', () => {
  const plain: V1Container = { name: 'c', image: 'img' };
  expect(() => podmanRunArgs(input(plain, { runAsNonRoot: true, runAsUser: 0 }))).toThrow(`container's runAsUser breaks non-root policy (pod: "p", container: c)`);
  expect(() => podmanRunArgs(input(plain, { runAsNonRoot: true }, ''))).toThrow('container has runAsNonRoot and image will run as root');
  expect(() => podmanRunArgs(input(plain, { runAsNonRoot: true }, 'node'))).toThrow('image has non-numeric user (node), cannot verify user is non-root');
  expect(podmanRunArgs(input(plain, { runAsNonRoot: true }, '1000:1000'))).not.toContain('--user');
  expect(() => podmanRunArgs(input(plain, { seccompProfile: { type: 'Localhost', localhostProfile: 'x.json' } }))).toThrow('Localhost is not supported');
});

test('Kubernetes quantities', () => {
  expect([quantity('512Mi'), quantity('1Gi'), quantity('250m'), quantity('1.5'), quantity('2G'), quantity('100k')]).toEqual([536870912, 1073741824, 0.25, 1.5, 2e9, 1e5]);
  expect(() => quantity('lots')).toThrow('resource quantity "lots"');
});
