/**
 * Node (V8) flags for the processes that answer requests on a latency budget: the api and the
 * gateway. Every launcher passes them (the demo, the benchmarks, the apps' `npm start`, the
 * Terraform task definitions); V8 refuses them in NODE_OPTIONS. Measured on the online-lookup
 * benchmark (50 features at 1000/s, 5-second windows with idle gaps between; bench/README.md).
 *
 * `--no-allocation-site-pretenuring`: V8 had decided that objects from node-postgres's row
 * handling and the request path live long, and allocated them straight in the old generation. They
 * do not: the old generation grew ~1 MB per young collection (~3 KB per request), a full
 * collection followed every few seconds under load, and its ~50 ms of concurrent marking on two
 * cores was the whole 1 % tail (one cluster of ~50 slow requests in a window, p99 up to 25 ms).
 * Without pretenuring nothing is promoted, young collections take 0.5–1.2 ms instead of 2–3.5,
 * there is no full collection under load, and p99 was 3.5–5.1 ms in 10 of 11 windows (8.6 in one).
 *
 * `--min-semi-space-size=16`: V8 shrinks an idle process's young generation to 1 MiB (its memory
 * reducer), and it grows back only over many collections, so the first traffic after a quiet
 * spell was collected every ~45 ms instead of every ~300 ms: 18 collections per window before the
 * first idle gap, 35–47 after it.
 */
export const servingNodeFlags: readonly string[] = [
  '--no-allocation-site-pretenuring',
  '--min-semi-space-size=16',
];
