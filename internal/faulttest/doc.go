// Package faulttest holds calibd's fault-injection tests (issue 5): the
// ingest against a real Mosquitto and a real PostgreSQL while the broker
// is killed and restarted, while PostgreSQL restarts, while calibd itself
// is SIGKILLed and started again, and under a flood of malformed payloads.
// Each test starts private instances of the services it breaks (never the
// shared ones other tests use) and asserts the reliability rules of
// ARCHITECTURE.md: nothing PUBACKed is lost, nothing is stored twice, bad
// input is dead-lettered and never stalls the stream.
//
// The package has tests only.
package faulttest
