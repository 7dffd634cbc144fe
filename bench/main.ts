/**
 * `npm run bench -- <name>`: runs bench/<name>.ts. Each benchmark prints its figures as it goes and
 * ends with one JSON line. Benchmarks are never part of `npm test`.
 */
const name = process.argv[2];
if (!name || !/^[a-z0-9-]+$/.test(name)) {
  process.stderr.write('usage: npm run bench -- <name>   (a file bench/<name>.ts)\n');
  process.exit(2);
}
await import(`./${name}.js`);
