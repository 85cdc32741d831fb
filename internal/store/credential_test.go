package store_test

import (
	"strings"
	"testing"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestDeviceCredentials: the venue operator issues a device's MQTT secret
// (shown once, stored hashed); the broker login works with it only;
// rotating kills the old secret, revoking and retiring the device kill the
// new one; nobody else issues or reads it.
func TestDeviceCredentials(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		_, _, err := st.IssueDeviceSecret(ctx, w.adminB, w.thermA.ID)
		wantIs(t, "operator B issues for A's thermometer", err, devices.ErrNotFound)
		_, _, err = st.IssueDeviceSecret(ctx, w.instAdmin, w.thermA.ID)
		wantIs(t, "the institute issues", err, devices.ErrForbidden)
		_, _, err = st.IssueDeviceSecret(ctx, w.reg, w.thermA.ID)
		wantIs(t, "the regulator issues", err, devices.ErrForbidden)

		cred, secret, err := st.IssueDeviceSecret(ctx, w.memberA, w.thermA.ID)
		if err != nil || !strings.HasPrefix(secret, store.DeviceSecretPrefix) || cred.Kind != devices.DeviceThermometer || cred.Rotations != 0 {
			t.Fatalf("IssueDeviceSecret = %+v, %q, %v", cred, secret, err)
		}
		if n := countSQL(t, st, "SELECT count(*) FROM device_credentials WHERE secret_hash = '"+store.HashSecret(secret)+"'"); n != 1 {
			t.Errorf("the secret's hash is stored %d times, want 1", n)
		}
		if n := countSQL(t, st, "SELECT count(*) FROM device_credentials WHERE secret_hash LIKE '%"+secret[4:12]+"%'"); n != 0 {
			t.Error("the secret is stored in the clear")
		}
		id, err := st.AuthenticateDevice(ctx, strings.ToUpper(w.thermA.ID), secret)
		if err != nil || id.DeviceID != w.thermA.ID || id.OperatorOrgID != w.opA.ID {
			t.Fatalf("AuthenticateDevice = %+v, %v", id, err)
		}
		if !id.MayPublish("calibd/v1/devices/"+w.thermA.ID+"/checks") || id.MayPublish("calibd/v1/devices/"+w.thermB.ID+"/checks") ||
			id.MayPublish("calibd/v1/devices/"+w.thermA.ID+"/#") || id.MayPublish("calibd/v1/devices/"+w.thermA.ID+"/commands") {
			t.Error("MayPublish allows another device's topic, a wildcard or an unknown leaf")
		}
		for _, bad := range []struct{ user, pass string }{{w.thermA.ID, secret + "x"}, {w.thermB.ID, secret}, {"nobody", secret}, {w.thermA.ID, ""}} {
			_, err := st.AuthenticateDevice(ctx, bad.user, bad.pass)
			wantIs(t, "bad login", err, devices.ErrUnauthenticated)
		}

		rot, secret2, err := st.IssueDeviceSecret(ctx, w.adminA, w.thermA.ID)
		if err != nil || secret2 == secret || rot.Rotations != 1 {
			t.Fatalf("rotate = %+v, %v", rot, err)
		}
		_, err = st.AuthenticateDevice(ctx, w.thermA.ID, secret)
		wantIs(t, "the old secret after rotation", err, devices.ErrUnauthenticated)
		if _, err := st.AuthenticateDevice(ctx, w.thermA.ID, secret2); err != nil {
			t.Errorf("the new secret: %v", err)
		}
		if got, err := st.GetDeviceCredential(ctx, w.reg, w.thermA.ID); err != nil || got.Rotations != 1 {
			t.Errorf("the regulator reads the credential: %+v, %v", got, err)
		}
		_, err = st.GetDeviceCredential(ctx, w.instAdmin, w.thermA.ID)
		wantIs(t, "the institute reads the credential", err, devices.ErrForbidden)
		_, err = st.GetDeviceCredential(ctx, w.adminB, w.thermA.ID)
		wantIs(t, "operator B reads it", err, devices.ErrNotFound)

		rev, err := st.RevokeDeviceSecret(ctx, w.adminA, w.thermA.ID)
		if err != nil || rev.RevokedAt == nil {
			t.Fatalf("revoke = %+v, %v", rev, err)
		}
		_, err = st.AuthenticateDevice(ctx, w.thermA.ID, secret2)
		wantIs(t, "a revoked secret", err, devices.ErrUnauthenticated)

		// A lift too; retiring it ends its login.
		_, liftSecret, err := st.IssueDeviceSecret(ctx, w.adminA, w.elevA.ID)
		if err != nil {
			t.Fatal(err)
		}
		if id, err := st.AuthenticateDevice(ctx, w.elevA.ID, liftSecret); err != nil || id.Kind != devices.DeviceElevator {
			t.Fatalf("lift login: %+v, %v", id, err)
		}
		if _, err := st.RetireElevator(ctx, w.adminA, w.elevA.ID, devices.AnyVersion); err != nil {
			t.Fatal(err)
		}
		_, err = st.AuthenticateDevice(ctx, w.elevA.ID, liftSecret)
		wantIs(t, "a retired lift", err, devices.ErrUnauthenticated)
		_, _, err = st.IssueDeviceSecret(ctx, w.adminA, w.elevA.ID)
		wantConflict(t, "issue for a retired lift", err, "retired")
	})
}
