// Package devices holds what calibd knows about: organizations and the Actor
// asking, venues, thermometers, elevators and tolerance profiles, the rules
// that decide who may see and change them, and the error kinds every layer
// speaks. It imports only the standard library and small value libraries;
// storage, HTTP and MQTT live in internal/ and depend on this package, never
// the other way round.
package devices
