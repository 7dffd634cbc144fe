import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accessFromKubeconfig, apiServerAccess } from './api-server.js';

// How the worker finds the API server as itself (the query reviews): kubeconfig forms and the Pod's mount.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-server-'));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
};
const kubeconfig = (user: Record<string, unknown>, cluster: Record<string, unknown> = { server: 'https://10.0.0.1:6443', 'certificate-authority-data': Buffer.from('CA PEM').toString('base64') }) =>
  JSON.stringify({ 'current-context': 'pod', contexts: [{ name: 'other', context: { cluster: 'x', user: 'x' } }, { name: 'pod', context: { cluster: 'c', user: 'u' } }], clusters: [{ name: 'c', cluster }], users: [{ name: 'u', user }] });

test("a kubeconfig's current context: server, CA, and a token inline or from a file (relative to the kubeconfig)", () => {
  const inline = accessFromKubeconfig(write('inline.json', kubeconfig({ token: 'sa-token' })));
  expect(inline.server.href).toBe('https://10.0.0.1:6443/');
  expect(inline.ca).toBe('CA PEM');
  expect(inline.token?.()).toBe('sa-token');
  write('tokens/t', 'from-file\n');
  const fromFile = accessFromKubeconfig(write('file.yaml', `current-context: pod\ncontexts: [{name: pod, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: 'https://api:6443', certificate-authority: ca.pem}}]\nusers: [{name: u, user: {tokenFile: tokens/t}}]\n`.replace('ca.pem', write('ca.pem', 'CA FILE'))));
  expect(fromFile.ca).toBe('CA FILE');
  expect(fromFile.token?.()).toBe('from-file');
});

test('a client certificate is an identity too; a user with neither, or only an exec plugin, is refused with a reason', () => {
  const cert = accessFromKubeconfig(write('cert.json', kubeconfig({ 'client-certificate-data': Buffer.from('CERT').toString('base64'), 'client-key-data': Buffer.from('KEY').toString('base64') })));
  expect([cert.cert, cert.key, cert.token]).toEqual(['CERT', 'KEY', undefined]);
  expect(() => accessFromKubeconfig(write('exec.json', kubeconfig({ exec: { command: 'aws' } })))).toThrow(/has neither a token nor a client certificate \(exec and auth-provider plugins are not supported by the worker\)/);
  expect(() => accessFromKubeconfig(write('nocontext.json', JSON.stringify({ 'current-context': 'missing' })))).toThrow(/no current context/);
});

test("in a Pod: the service host and the mounted ServiceAccount's CA and token; else KUBECONFIG; neither is an error", () => {
  const mount = path.join(dir, 'sa');
  write('sa/ca.crt', 'CLUSTER CA');
  write('sa/token', 'projected-token');
  const pod = apiServerAccess(undefined, { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, mount);
  expect(pod.server.href).toBe('https://10.96.0.1/');
  expect([pod.ca, pod.token?.()]).toEqual(['CLUSTER CA', 'projected-token']);
  expect(apiServerAccess(undefined, { KUBERNETES_SERVICE_HOST: 'fd00::1' }, mount).server.host).toBe('[fd00::1]');
  expect(apiServerAccess(undefined, { KUBECONFIG: path.join(dir, 'inline.json'), KUBERNETES_SERVICE_HOST: '10.96.0.1' }, mount).token?.()).toBe('sa-token');
  expect(() => apiServerAccess(undefined, {}, mount)).toThrow(/not in a Pod/);
});
