package ingest

import "testing"

// TestConnState: the ingest is Connected only once the current connection
// has subscribed; a reconnect clears that, and an onConnect that outlived
// its connection cannot mark a later one subscribed.
func TestConnState(t *testing.T) {
	var c connState
	first := c.generation()
	if c.subscribed() {
		t.Fatal("subscribed before any subscription")
	}
	if !c.subscribedOn(first) || !c.subscribed() {
		t.Fatal("the first connection's subscription did not count")
	}
	c.newConnection() // paho's reconnecting handler: the connection was lost
	if c.subscribed() {
		t.Fatal("still subscribed after a reconnect began: Connected would say true before the resubscription")
	}
	if c.subscribedOn(first) || c.subscribed() {
		t.Fatal("a late onConnect of the lost connection marked the new one subscribed")
	}
	if !c.subscribedOn(c.generation()) || !c.subscribed() {
		t.Fatal("the new connection's subscription did not count")
	}
}
