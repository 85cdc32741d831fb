package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestBrokerExportWithMosquitto: the exported password and ACL files make
// a real Mosquitto accept a device with its secret only, keep it to its
// own topics, and let the ingest login read them.
func TestBrokerExportWithMosquitto(t *testing.T) {
	bin := testenv.LookBinary(t, "mosquitto", "apt-get install mosquitto")
	ctx := t.Context()
	dir := t.TempDir()
	db := filepath.Join(dir, "c.db")
	st, err := store.Open(ctx, store.Config{URL: db}, testenv.Logger())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	secret := func(sec string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return sec
	}
	reg, err := st.Authenticate(ctx, secret(st.Bootstrap(ctx, "")))
	if err != nil {
		t.Fatal(err)
	}
	op := devices.Organization{Name: "Operator", Kind: devices.KindVenueOperator}
	if err := st.CreateOrganization(ctx, reg, &op); err != nil {
		t.Fatal(err)
	}
	_, opSecret, err := st.IssueToken(ctx, reg, op.ID, devices.TokenRequest{Name: "ops", Role: devices.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	opA, err := st.Authenticate(ctx, opSecret)
	if err != nil {
		t.Fatal(err)
	}
	v := devices.Venue{Name: "T2", Kind: devices.VenueAirport, RegionCode: "310115", TimeZone: "Asia/Shanghai"}
	if err := st.CreateVenue(ctx, opA, &v); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, serial := range []string{"S-1", "S-2"} {
		th := devices.Thermometer{VenueID: v.ID, Type: devices.TypeIREar, Manufacturer: "Braun", Model: "IRT6520", Serial: serial}
		if err := st.CreateThermometer(ctx, opA, &th); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, th.ID)
	}
	_, devSecret, err := st.IssueDeviceSecret(ctx, opA, ids[0])
	if err != nil {
		t.Fatal(err)
	}

	passwd, acl := filepath.Join(dir, "passwd"), filepath.Join(dir, "acl")
	env := map[string]string{"DATABASE_URL": db, "MQTT_PASSWORD": "ingest-password"}
	var out, errb bytes.Buffer
	if err := run(ctx, []string{"broker", "export", "--passwd", passwd, "--acl", acl}, func(k string) string { return env[k] }, &out, &errb); err != nil {
		t.Fatalf("broker export: %v (%s)", err, errb.String())
	}
	if !strings.Contains(out.String(), "wrote 1 device login(s)") {
		t.Errorf("broker export said %q", out.String())
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("user root\nlistener %d 127.0.0.1\nallow_anonymous false\npassword_file %s\nacl_file %s\npersistence false\n",
		port, passwd, acl)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, "-c", conf)
	var mlog bytes.Buffer
	cmd.Stdout, cmd.Stderr = &mlog, &mlog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if i == 50 {
			t.Fatalf("mosquitto did not start: %s", mlog.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	login := func(id, user, pass string, onMessage paho.MessageHandler) (paho.Client, error) {
		opts := paho.NewClientOptions().AddBroker(url).SetClientID(id).SetUsername(user).SetPassword(pass).
			SetConnectTimeout(3 * time.Second).SetAutoReconnect(false).SetDefaultPublishHandler(onMessage)
		c := paho.NewClient(opts)
		tok := c.Connect()
		tok.WaitTimeout(5 * time.Second)
		if tok.Error() != nil {
			return nil, tok.Error()
		}
		t.Cleanup(func() { c.Disconnect(100) })
		return c, nil
	}
	got := make(chan string, 4)
	ingest, err := login("ingest", "calibd-ingest", "ingest-password", func(_ paho.Client, m paho.Message) { got <- m.Topic() })
	if err != nil {
		t.Fatalf("ingest login: %v (%s)", err, mlog.String())
	}
	if tok := ingest.Subscribe(devices.TopicPrefix+"#", 1, nil); !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		t.Fatalf("ingest subscribe: %v", tok.Error())
	}
	if _, err := login("bad", ids[0], devSecret+"x", nil); err == nil {
		t.Error("a wrong secret logged in")
	}
	if _, err := login("other", ids[1], devSecret, nil); err == nil {
		t.Error("a device without a credential logged in with another's secret")
	}
	dev, err := login("dev", ids[0], devSecret, nil)
	if err != nil {
		t.Fatalf("device login: %v (%s)", err, mlog.String())
	}
	dev.Publish(devices.TopicPrefix+ids[1]+"/checks", 1, false, "{}").WaitTimeout(3 * time.Second)
	dev.Publish(devices.TopicPrefix+ids[0]+"/checks", 1, false, "{}").WaitTimeout(3 * time.Second)
	select {
	case topic := <-got:
		if topic != devices.TopicPrefix+ids[0]+"/checks" {
			t.Errorf("the ingest received %s first: a device published on another device's topic", topic)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("the ingest received nothing (%s)", mlog.String())
	}
}
