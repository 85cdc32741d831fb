package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestAuthenticate: unknown, revoked and expired tokens and tokens of a
// retired organization are ErrUnauthenticated; good ones resolve to their
// organization and role.
func TestAuthenticate(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx

		a, err := st.Authenticate(ctx, w.secret[w.memberA.TokenID])
		if err != nil || a.OrgID != w.opA.ID || a.OrgKind != devices.KindVenueOperator || a.Role != devices.RoleMember ||
			a.TokenID != w.memberA.TokenID || a.TokenExpiresAt != nil || a.System {
			t.Fatalf("Authenticate(member A) = %+v, %v", a, err)
		}

		unknown := []string{"", "cdt_", store.TokenPrefix + strings.Repeat("A", 43), "Bearer " + w.secret[w.adminA.TokenID],
			strings.TrimPrefix(w.secret[w.adminA.TokenID], store.TokenPrefix), w.secret[w.adminA.TokenID] + "x",
			store.HashSecret(w.secret[w.adminA.TokenID]), store.TokenPrefix + strings.Repeat("x", 300)}
		for _, s := range unknown {
			_, err := st.Authenticate(ctx, s)
			if !errors.Is(err, devices.ErrUnauthenticated) {
				t.Errorf("Authenticate(%.20q...) = %v, want ErrUnauthenticated", s, err)
			}
		}

		t.Run("revoked", func(t *testing.T) {
			tok, err := st.RevokeToken(ctx, w.adminA, w.opA.ID, w.memberA.TokenID)
			if err != nil || tok.RevokedAt == nil || !tok.RevokedAt.Equal(t0) {
				t.Fatalf("RevokeToken(member A) = %+v, %v", tok, err)
			}
			_, err = st.Authenticate(ctx, w.secret[w.memberA.TokenID])
			wantIs(t, "Authenticate(revoked)", err, devices.ErrUnauthenticated)
			if _, err := st.Authenticate(ctx, w.secret[w.adminA.TokenID]); err != nil {
				t.Errorf("Authenticate(admin A) after revoking member A = %v", err)
			}
			toks, _, err := st.ListTokens(ctx, w.adminA, w.opA.ID, devices.Page{})
			if err != nil || len(toks) != 2 {
				t.Fatalf("ListTokens(A) = %d, %v", len(toks), err)
			}
			for _, tk := range toks {
				if tk.OrgID != w.opA.ID {
					t.Errorf("ListTokens(A) holds token of %s", tk.OrgID)
				}
				if (tk.ID == w.memberA.TokenID) != (tk.RevokedAt != nil) {
					t.Errorf("token %s revoked_at = %v", tk.ID, tk.RevokedAt)
				}
			}
		})

		t.Run("expired", func(t *testing.T) {
			exp := w.clk.Now().Add(time.Hour)
			tok, sec, err := st.IssueToken(ctx, w.adminB, w.opB.ID, devices.TokenRequest{Name: "temp", Role: devices.RoleMember, ExpiresAt: &exp})
			if err != nil || tok.ExpiresAt == nil || !tok.ExpiresAt.Equal(exp) {
				t.Fatalf("IssueToken(expiring) = %+v, %v", tok, err)
			}
			a, err := st.Authenticate(ctx, sec)
			if err != nil || a.TokenExpiresAt == nil || !a.TokenExpiresAt.Equal(exp) {
				t.Fatalf("Authenticate(before expiry) = %+v, %v", a, err)
			}
			w.clk.Set(exp.Add(-time.Second))
			if _, err := st.Authenticate(ctx, sec); err != nil {
				t.Errorf("Authenticate(1s before expiry) = %v", err)
			}
			w.clk.Set(exp)
			_, err = st.Authenticate(ctx, sec)
			wantIs(t, "Authenticate(at expiry)", err, devices.ErrUnauthenticated)
			w.clk.Set(exp.Add(24 * time.Hour))
			_, err = st.Authenticate(ctx, sec)
			wantIs(t, "Authenticate(a day after expiry)", err, devices.ErrUnauthenticated)
			if _, err := st.Authenticate(ctx, w.secret[w.adminB.TokenID]); err != nil {
				t.Errorf("Authenticate(non-expiring admin B) a day later = %v", err)
			}
			w.clk.Set(t0)

			past := t0.Add(-time.Minute)
			_, _, err = st.IssueToken(ctx, w.adminB, w.opB.ID, devices.TokenRequest{Name: "late", Role: devices.RoleMember, ExpiresAt: &past})
			wantFields(t, "IssueToken(expires in the past)", err, "expires_at")
			_, _, err = st.IssueToken(ctx, w.adminB, w.opB.ID, devices.TokenRequest{Name: "x", Role: "owner"})
			wantFields(t, "IssueToken(role owner)", err, "role")
		})

		t.Run("retired organization", func(t *testing.T) {
			if _, err := st.RetireOrganization(ctx, w.reg, w.opB.ID, 1); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{w.adminB.TokenID, w.memberB.TokenID} {
				_, err := st.Authenticate(ctx, w.secret[id])
				wantIs(t, "Authenticate(token of retired B)", err, devices.ErrUnauthenticated)
			}
			if _, err := st.Authenticate(ctx, w.secret[w.adminA.TokenID]); err != nil {
				t.Errorf("Authenticate(admin A) after retiring B = %v", err)
			}
		})
	})
}

// TestBootstrap: Bootstrap creates the regulator and its admin token once,
// honours a given secret, and is a no-op once any organization exists.
func TestBootstrap(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		st.SetClock(func() time.Time { return t0 })

		_, err := st.Bootstrap(ctx, "too-short")
		if err == nil {
			t.Fatalf("Bootstrap(malformed secret) = nil error")
		}
		if n := countSQL(t, st, "SELECT count(*) FROM organizations"); n != 0 {
			t.Fatalf("Bootstrap(malformed secret) created %d organizations", n)
		}

		secret := store.TokenPrefix + "given-by-the-operator-0123456789abcdef"
		got, err := st.Bootstrap(ctx, secret)
		if err != nil || got != secret {
			t.Fatalf("Bootstrap(secret) = %q, %v; want the secret back", got, err)
		}
		a, err := st.Authenticate(ctx, secret)
		if err != nil || a.OrgKind != devices.KindRegulator || a.Role != devices.RoleAdmin || a.OrgID == "" || a.TokenID == "" {
			t.Fatalf("Authenticate(bootstrap secret) = %+v, %v; want a regulator admin", a, err)
		}
		if n := countSQL(t, st, "SELECT count(*) FROM api_tokens WHERE secret_hash = '"+store.HashSecret(secret)+"'"); n != 1 {
			t.Errorf("tokens stored under the secret's hash = %d, want 1", n)
		}
		if n := countSQL(t, st, "SELECT count(*) FROM api_tokens WHERE secret_hash = '"+secret+"'"); n != 0 {
			t.Errorf("the secret is stored in clear")
		}

		for _, s := range []string{"", store.TokenPrefix + "another-operator-secret-0123456789abcdef"} {
			got, err := st.Bootstrap(ctx, s)
			if err != nil || got != "" {
				t.Errorf("Bootstrap(%q) on a bootstrapped db = %q, %v; want \"\", nil", s, got, err)
			}
		}
		if n := countSQL(t, st, "SELECT count(*) FROM organizations"); n != 1 {
			t.Errorf("organizations = %d after repeated Bootstrap, want 1", n)
		}
		if n := countSQL(t, st, "SELECT count(*) FROM api_tokens"); n != 1 {
			t.Errorf("api_tokens = %d after repeated Bootstrap, want 1", n)
		}
		_, err = st.Authenticate(ctx, store.TokenPrefix+"another-operator-secret-0123456789abcdef")
		wantIs(t, "Authenticate(secret of a no-op Bootstrap)", err, devices.ErrUnauthenticated)

		// The bootstrap writes are audited as the command-line operator.
		evs, _, err := st.ListAudit(ctx, a, devices.AuditFilter{}, devices.Page{})
		if err != nil || len(evs) != 2 {
			t.Fatalf("ListAudit after Bootstrap = %d events, %v; want 2", len(evs), err)
		}
		for _, ev := range evs {
			if ev.OrgID != "" || ev.TokenID != "" {
				t.Errorf("bootstrap %s event by org %q token %q, want none", ev.Action, ev.OrgID, ev.TokenID)
			}
		}

		// Bootstrap is a no-op also when the only organizations are not
		// regulators.
		st2 := testenv.Store(t, st.Dialect())
		o := devices.Organization{Name: "CLI-made operator", Kind: devices.KindVenueOperator}
		if err := st2.CreateOrganization(ctx, devices.SystemActor(), &o); err != nil {
			t.Fatal(err)
		}
		if got, err := st2.Bootstrap(ctx, ""); err != nil || got != "" {
			t.Errorf("Bootstrap with one organization present = %q, %v; want \"\", nil", got, err)
		}
	})
}

// TestBootstrapConcurrent: replicas bootstrapping an empty database at the
// same moment create one regulator between them.
func TestBootstrapConcurrent(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		const n = 6
		secrets := make(chan string, n)
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := st.Bootstrap(context.Background(), "")
				secrets <- s
				errs <- err
			}()
		}
		wg.Wait()
		close(secrets)
		close(errs)
		made := 0
		for s := range secrets {
			if s != "" {
				made++
			}
		}
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent Bootstrap: %v", err)
			}
		}
		if made != 1 {
			t.Errorf("%d concurrent Bootstraps returned a secret, want exactly 1", made)
		}
		if got := countSQL(t, st, "SELECT count(*) FROM organizations"); got != 1 {
			t.Errorf("organizations after %d concurrent Bootstraps = %d, want 1", n, got)
		}
	})
}
