package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// MosquittoOptions configures a private Mosquitto.
type MosquittoOptions struct {
	// Persistence saves sessions, subscriptions and queued messages to a
	// file after every change, so that they survive a SIGKILL of the
	// broker. Without it a restarted broker knows no session.
	Persistence bool
}

// Mosquitto is a broker process of the test's own on a free loopback
// port, which the test may kill and start again on the same port. The
// shared broker of TEST_MQTT_URL must never be restarted: other tests use
// it.
type Mosquitto struct {
	tb   testing.TB
	bin  string
	dir  string
	conf string
	log  string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartMosquitto starts a private Mosquitto with the settings lossless
// QoS 1 needs (ARCHITECTURE.md, docs/design-ingest.md): anonymous clients,
// max_inflight_messages 1000, max_queued_messages 100000. It is killed at
// cleanup. Without the mosquitto binary the test skips, or fails under
// CI=true.
func StartMosquitto(tb testing.TB, opts MosquittoOptions) *Mosquitto {
	tb.Helper()
	m := &Mosquitto{tb: tb, bin: lookBinary(tb, "mosquitto", "apt-get install mosquitto"), dir: tb.TempDir()}
	m.conf = filepath.Join(m.dir, "mosquitto.conf")
	m.log = filepath.Join(m.dir, "mosquitto.log")
	logTailOnFailure(tb, "mosquitto", m.log)
	tb.Cleanup(m.Kill)
	var err error
	// The free port may be taken between FreePort and the bind: try a few.
	for attempt := 0; attempt < 3; attempt++ {
		m.port = FreePort(tb)
		if err = m.writeConf(opts); err != nil {
			tb.Fatalf("mosquitto config: %v", err)
		}
		if err = m.start(); err == nil {
			return m
		}
	}
	tb.Fatalf("start mosquitto: %v\n%s", err, tail(m.log, 20))
	return nil
}

func (m *Mosquitto) writeConf(opts MosquittoOptions) error {
	var b strings.Builder
	if os.Geteuid() == 0 {
		// As root Mosquitto would drop to the mosquitto user, which cannot
		// write in the test's temp dir.
		b.WriteString("user root\n")
	}
	fmt.Fprintf(&b, "listener %d 127.0.0.1\n", m.port)
	b.WriteString("allow_anonymous true\nmax_inflight_messages 1000\nmax_queued_messages 100000\n")
	b.WriteString("log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\nlog_timestamp_format %H:%M:%S\n")
	if opts.Persistence {
		fmt.Fprintf(&b, "persistence true\npersistence_location %s/\nautosave_interval 1\nautosave_on_changes true\n", m.dir)
	} else {
		b.WriteString("persistence false\n")
	}
	return os.WriteFile(m.conf, []byte(b.String()), 0o600)
}

// start runs the broker and waits for its port.
func (m *Mosquitto) start() error {
	f, err := os.OpenFile(m.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "==== %s: starting mosquitto on port %d\n", time.Now().Format("15:04:05.000"), m.port)
	cmd := exec.Command(m.bin, "-c", m.conf)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	m.mu.Lock()
	m.cmd, m.exited = cmd, exited
	m.mu.Unlock()
	if err := waitPort(m.port, exited, 10*time.Second); err != nil {
		m.Kill()
		return err
	}
	return nil
}

// URL is tcp://127.0.0.1:<port>.
func (m *Mosquitto) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", m.port) }

// Kill sends SIGKILL and waits for the process to end: no clean shutdown,
// no final save of the persistence file. It does nothing when the broker
// is not running.
func (m *Mosquitto) Kill() {
	m.mu.Lock()
	cmd, exited := m.cmd, m.exited
	m.cmd = nil
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// Restart starts the broker again on the same port, after Kill.
func (m *Mosquitto) Restart() {
	m.tb.Helper()
	m.mu.Lock()
	running := m.cmd != nil
	m.mu.Unlock()
	if running {
		m.tb.Fatal("Mosquitto.Restart: the broker is running; Kill it first")
	}
	if err := m.start(); err != nil {
		m.tb.Fatalf("restart mosquitto on port %d: %v\n%s", m.port, err, tail(m.log, 20))
	}
}
