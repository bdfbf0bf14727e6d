// `npm run bench`: the single node beside its ceilings (end-to-end.ts); `npm run bench -- --cluster`:
// the single node and the cluster profile alternated (cluster.ts).
await import(process.argv.includes('--cluster') ? './cluster.js' : './end-to-end.js');
