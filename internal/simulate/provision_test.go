package simulate

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/httpapi"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// calibdAPI serves calibd's real API over a fresh SQLite store and returns
// its URL, the store and the regulator's bootstrap token.
func calibdAPI(t *testing.T) (string, *store.Store, string) {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, store.Config{URL: filepath.Join(t.TempDir(), "calibd.db")}, testenv.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tok, err := st.Bootstrap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := httpapi.New(st, testenv.Logger(), httpapi.Config{}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL, st, tok
}

// TestProvision: with the regulator's token, Provision creates an
// operator, a venue, thermometers and lifts by CSV import and a secret for
// each; every device then passes the broker login check (username = its
// id, password = its secret) as its kind. With the operator's token and
// its venue, a second fleet lands beside the first.
func TestProvision(t *testing.T) {
	base, st, regTok := calibdAPI(t)
	ctx := t.Context()
	reg, err := NewAPI(base, regTok)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Provision(ctx, ProvisionConfig{API: reg, Thermometers: 5, Lifts: 2, Parallel: 3, Log: testenv.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Fleet) != 7 || res.VenueID == "" || res.OperatorOrgID == "" {
		t.Fatalf("provisioned %+v", res)
	}
	seen := map[string]bool{}
	for i, d := range res.Fleet {
		wantKind := devices.DeviceThermometer
		if i >= 5 {
			wantKind = devices.DeviceElevator
		}
		if d.Kind != wantKind || seen[d.ID] || !strings.HasPrefix(d.Secret, store.DeviceSecretPrefix) {
			t.Fatalf("device %d: %+v", i, d)
		}
		seen[d.ID] = true
		id, err := st.AuthenticateDevice(ctx, d.ID, d.Secret)
		if err != nil {
			t.Fatalf("broker login of %s with its secret: %v", d.ID, err)
		}
		if id.DeviceID != d.ID || id.Kind != d.Kind || id.VenueID != res.VenueID || id.OperatorOrgID != res.OperatorOrgID {
			t.Errorf("broker login of %s is %+v", d.ID, id)
		}
		if !id.MayPublish(devices.DeviceTopic(d.ID, devices.MessageChecks, false)) {
			t.Errorf("%s may not publish on its own topic", d.ID)
		}
	}
	path := filepath.Join(t.TempDir(), "fleet.csv")
	if err := WriteCredentials(path, res.Fleet); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCredentials(path)
	if err != nil || len(back) != 7 || back[6] != res.Fleet[6] {
		t.Fatalf("read back %v, %v", back, err)
	}

	// The operator's own token, into its existing venue.
	opAdmin := devices.Actor{OrgID: res.OperatorOrgID, OrgKind: devices.KindVenueOperator, Role: devices.RoleAdmin}
	_, opSecret, err := st.IssueToken(ctx, opAdmin, res.OperatorOrgID, devices.TokenRequest{Name: "ops", Role: devices.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	op, err := NewAPI(base+"/api/v1/", opSecret)
	if err != nil {
		t.Fatal(err)
	}
	more, err := Provision(ctx, ProvisionConfig{API: op, VenueID: res.VenueID, Thermometers: 3, Log: testenv.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	if len(more.Fleet) != 3 || more.VenueID != res.VenueID {
		t.Fatalf("second fleet %+v", more)
	}
	for _, d := range more.Fleet {
		if seen[d.ID] {
			t.Errorf("the second provisioning returned %s of the first", d.ID)
		}
	}

	// A regulator cannot provision into a venue, and nothing is asked for.
	if _, err := Provision(ctx, ProvisionConfig{API: reg, VenueID: res.VenueID, Thermometers: 1}); err == nil {
		t.Error("a regulator provisioned into an operator's venue")
	}
	if _, err := Provision(ctx, ProvisionConfig{API: reg}); err == nil {
		t.Error("an empty fleet was provisioned")
	}
	bad, _ := NewAPI(base, "cdt_not_a_token")
	if _, err := Provision(context.Background(), ProvisionConfig{API: bad, Thermometers: 1}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a bad token: %v", err)
	}
}
