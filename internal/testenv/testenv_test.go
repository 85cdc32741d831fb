package testenv

import (
	"context"
	"slices"
	"testing"

	"github.com/calibd/calibd/migrations"
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

// TestPostgresTimeouts: a test database's connections carry statement and
// lock timeouts, so a stuck query fails with PostgreSQL's message instead
// of hanging the test binary.
func TestPostgresTimeouts(t *testing.T) {
	if !slices.Contains(Dialects(), migrations.Postgres) {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	st := Store(t, migrations.Postgres)
	for name, want := range map[string]string{"statement_timeout": "2min", "lock_timeout": "1min"} {
		var got string
		if err := st.SQLDB().QueryRowContext(t.Context(), "SHOW "+name).Scan(&got); err != nil || got != want {
			t.Errorf("SHOW %s = %q, %v; want %q", name, got, err, want)
		}
	}
}
