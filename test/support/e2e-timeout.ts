// An end-to-end scenario waits for capture, two Kafka hops, the enricher's delay buffer, the
// indexer's flush and an Elasticsearch refresh; the unanswered ones also for the timeout.
jest.setTimeout(300_000);
