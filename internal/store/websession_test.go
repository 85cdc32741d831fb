package store_test

import (
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestWebSessions: a browser signs in with a token and acts as it; a
// wrong or ended session, an idle one, and one whose token was revoked
// are refused; sign-out ends it.
func TestWebSessions(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		now := time.Now().UTC()
		st.SetClock(func() time.Time { return now })
		secret := w.secret[w.adminA.TokenID]
		if _, _, err := st.StartWebSession(w.ctx, "cdt_not-a-token", time.Hour); err != devices.ErrUnauthenticated {
			t.Errorf("a wrong token signed in: %v", err)
		}
		cookie, ws, err := st.StartWebSession(w.ctx, secret, 8*time.Hour)
		if err != nil || ws.Actor.OrgID != w.opA.ID || ws.CSRF == "" || !ws.ExpiresAt.Equal(now.Add(8*time.Hour)) {
			t.Fatalf("StartWebSession = %+v, %v", ws, err)
		}
		got, err := st.LookupWebSession(w.ctx, cookie, time.Hour)
		if err != nil || got.Actor.OrgID != w.opA.ID || got.Actor.Role != devices.RoleAdmin || got.CSRF != ws.CSRF {
			t.Errorf("LookupWebSession = %+v, %v", got, err)
		}
		for _, bad := range []string{"", cookie + "x", secret} {
			if _, err := st.LookupWebSession(w.ctx, bad, time.Hour); err != devices.ErrUnauthenticated {
				t.Errorf("LookupWebSession(%q) = %v", bad, err)
			}
		}
		// Idle for longer than allowed: refused; a touch within it keeps it.
		now = now.Add(50 * time.Minute)
		if _, err := st.LookupWebSession(w.ctx, cookie, time.Hour); err != nil {
			t.Errorf("after 50 idle minutes: %v", err)
		}
		now = now.Add(61 * time.Minute)
		if _, err := st.LookupWebSession(w.ctx, cookie, time.Hour); err != devices.ErrUnauthenticated {
			t.Errorf("after 61 idle minutes: %v", err)
		}
		// The session ends at its ttl whatever the activity.
		short, _, err := st.StartWebSession(w.ctx, secret, 30*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(31 * time.Minute)
		if _, err := st.LookupWebSession(w.ctx, short, 2*time.Hour); err != devices.ErrUnauthenticated {
			t.Errorf("after its ttl: %v", err)
		}
		// Revoking the token ends its sessions; sign-out ends one.
		other, _, err := st.StartWebSession(w.ctx, w.secret[w.memberA.TokenID], time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		third, _, _ := st.StartWebSession(w.ctx, secret, time.Hour)
		if _, err := st.RevokeToken(w.ctx, w.adminA, w.opA.ID, w.memberA.TokenID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.LookupWebSession(w.ctx, other, time.Hour); err != devices.ErrUnauthenticated {
			t.Errorf("a session of a revoked token: %v", err)
		}
		if err := st.EndWebSession(w.ctx, third); err != nil {
			t.Fatal(err)
		}
		if _, err := st.LookupWebSession(w.ctx, third, time.Hour); err != devices.ErrUnauthenticated {
			t.Errorf("after sign-out: %v", err)
		}
	})
}
