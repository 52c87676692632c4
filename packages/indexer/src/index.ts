// Public API of @dnsflow/indexer; filled in by its issue.
export {};
