package testenv

import (
	"context"
	"testing"
)

// TestServices: the configured PostgreSQL and Mosquitto answer (under
// CI=true their absence fails here first, with a plain message).
func TestServices(t *testing.T) {
	for _, d := range Dialects() {
		st := Store(t, d)
		if err := st.Ping(context.Background()); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	_ = MQTTURL(t)
}
