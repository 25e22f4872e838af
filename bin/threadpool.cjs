// DuckDB's statements (the writer's and the bulk path's two mapping connections) run on libuv's threadpool, beside
// the bus reads, scratch files, fsyncs and renames of the lake. With libuv's default of 4 threads, three long
// statements left one thread for every file operation, and the pipeline thread waited on reads queued behind them:
// 8 threads landed a 1,000,000-record sensor backlog 5-11% faster for 5-10% less CPU on 2 cores. A value the user
// set is kept. It must be set before the pool starts (its first job: Node's ESM loader reads files through it), so
// only a CommonJS entry (bin/package.json) or `node --require` runs early enough.
process.env.UV_THREADPOOL_SIZE ??= '8';
