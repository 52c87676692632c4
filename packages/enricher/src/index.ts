// Public API of @dnsflow/enricher; filled in by its issue.
export {};
