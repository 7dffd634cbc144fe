import { Duplex, PassThrough } from 'node:stream';
import * as k8s from '@kubernetes/client-node';

/**
 * One TCP connection to a Pod's port through the API server, as `kubectl port-forward` makes them
 * (decision 0122): the `pods/portforward` subresource over a WebSocket (`v4.channel.k8s.io`),
 * authenticated with the kubeconfig's credentials, so RBAC `create pods/portforward` in the
 * namespace is checked for the person. The bytes are end to end: TLS or a bearer token sent
 * through it reach the Pod unchanged, which the API server's service proxy does not allow.
 */
export interface ForwardedConnection {
  /** Bytes to and from the Pod's port. */
  socket: Duplex;
  close(): void;
}

export async function forwardToPod(kc: k8s.KubeConfig, namespace: string, pod: string, port: number): Promise<ForwardedConnection> {
  const fromPod = new PassThrough();
  const toPod = new PassThrough();
  const errors = new PassThrough();
  const ws = (await new k8s.PortForward(kc, true).portForward(namespace, pod, [port], fromPod, errors, toPod)) as {
    close(): void;
    on?: (event: string, listener: () => void) => void;
  };
  const socket = Duplex.from({ readable: fromPod, writable: toPod });
  // The error channel carries the kubelet's word (connection refused in the Pod); the socket ends with it.
  errors.on('data', (chunk: Buffer) => socket.destroy(Object.assign(new Error(`port-forward to ${namespace}/${pod}:${port}: ${chunk.toString().trim()}`), { code: 'PORT_FORWARD' })));
  ws.on?.('close', () => fromPod.end());
  return {
    socket,
    close: () => {
      ws.close();
      socket.destroy();
    },
  };
}
