// Package statsd owns the statsd server: the line parser (etsy statsd's
// protocol with DogStatsD tags), the per-receiver aggregation shards, the flush
// that writes etsy statsd 0.9's graphite-backend names and values, the forward
// to an upstream carbon and etsy's admin interface. PROTOCOL.md describes the
// wire formats and where statbox departs from etsy statsd.
//
// # Threading model
//
// Each receiver (one per UDP socket, a few for TCP connections) owns a Shard:
// an open-addressing table of the names it saw this interval, with values in
// flat arrays. A datagram is parsed and aggregated into its receiver's shard
// under that shard's own mutex, which nothing else takes except the flusher,
// once per interval, to swap the table for an empty one: receivers never
// share a lock or a cache line with each other. The flusher merges the tables
// it took into the interval's totals, computes etsy's statistics and writes
// them out, while the receivers go on filling the fresh tables.
package statsd
