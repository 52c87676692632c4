// Integration tests wait on real servers (a broker's group join, a spool replay after an
// outage); jest's per-test default of 5 s is for unit tests.
jest.setTimeout(120_000);
