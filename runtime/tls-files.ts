import fs from 'node:fs';

/** PEM files of mounted Secrets → what `tls.connect` takes (for Kafka and HBase alike). */
export function readTlsFiles(files: { caFile?: string; certFile?: string; keyFile?: string }): { ca?: string; cert?: string; key?: string } {
  return {
    ...(files.caFile ? { ca: fs.readFileSync(files.caFile, 'utf8') } : {}),
    ...(files.certFile ? { cert: fs.readFileSync(files.certFile, 'utf8') } : {}),
    ...(files.keyFile ? { key: fs.readFileSync(files.keyFile, 'utf8') } : {}),
  };
}
