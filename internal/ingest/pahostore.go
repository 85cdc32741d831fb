package ingest

import (
	"strings"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// outboundStore is paho's MemoryStore for what the client sends
// (subscriptions), without the messages it receives. paho puts every
// inbound QoS 1 PUBLISH in its store until the PUBACK is written and
// deletes it then: a map write and delete under a lock, and a key built
// with Sprintf, twice per message. Nothing reads them back: on a reconnect
// paho discards stored inbound PUBLISHes, and the broker redelivers what
// was not acknowledged (clean session off). The ingest takes QoS 1 only,
// so the QoS 2 flow that does need inbound entries never runs.
type outboundStore struct{ *paho.MemoryStore }

func newOutboundStore() outboundStore { return outboundStore{paho.NewMemoryStore()} }

func inboundKey(key string) bool { return strings.HasPrefix(key, "i.") }

// Put stores outbound packets only.
func (s outboundStore) Put(key string, m packets.ControlPacket) {
	if !inboundKey(key) {
		s.MemoryStore.Put(key, m)
	}
}

// Del deletes outbound packets only (there are no inbound ones).
func (s outboundStore) Del(key string) {
	if !inboundKey(key) {
		s.MemoryStore.Del(key)
	}
}
