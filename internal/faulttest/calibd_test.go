package faulttest

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/calibd/calibd/internal/testenv"
)

// The calibd binary, built once per test process from this module's
// cmd/calibd, removed by TestMain.
var build struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// calibdBinary builds cmd/calibd (with -race when this test runs with it:
// the race-built packages of go test -race are then in the build cache).
func calibdBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		goBin, err := exec.LookPath("go") // go test puts its own go first on PATH
		if err != nil {
			build.err = fmt.Errorf("find the go command: %w", err)
			return
		}
		gomod, err := exec.Command(goBin, "env", "GOMOD").Output()
		if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
			build.err = fmt.Errorf("find the module root (go env GOMOD = %q): %v", gomod, err)
			return
		}
		if build.dir, err = os.MkdirTemp("", "calibd-faulttest-"); err != nil {
			build.err = err
			return
		}
		build.bin = filepath.Join(build.dir, "calibd")
		args := []string{"build", "-buildvcs=false", "-o", build.bin}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command(goBin, append(args, "./cmd/calibd")...)
		cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		if testing.Verbose() {
			fmt.Printf("built %s (race %v) in %v\n", build.bin, raceEnabled, time.Since(start).Round(time.Millisecond))
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

// calibd is a `calibd serve` process.
type calibd struct {
	t      *testing.T
	cmd    *exec.Cmd
	exited chan struct{}
	log    string
	base   string // http://127.0.0.1:port
}

// startCalibd runs `calibd serve` with env (on top of this process's
// environment) and waits until /readyz answers 200: the database answers
// and the ingest is connected and subscribed. Its output goes to log,
// whose end is printed if the test fails.
func startCalibd(t *testing.T, bin string, env map[string]string, log string) *calibd {
	t.Helper()
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "==== %s: starting calibd serve\n", time.Now().Format("15:04:05.000"))
	cmd := exec.Command(bin, "serve")
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); env[k] == "" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &calibd{t: t, cmd: cmd, exited: make(chan struct{}), log: log, base: "http://" + env["HTTP_ADDR"]}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.Kill)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if r, err := http.Get(p.base + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("calibd exited before it was ready (%v); its log:\n%s", cmd.ProcessState, logTail(log, 30))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("calibd not ready within 60s; its log:\n%s", logTail(log, 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits for the process to end.
func (p *calibd) Kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// Stop sends SIGTERM and waits for the process to end (it drains first).
func (p *calibd) Stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.t.Errorf("calibd did not stop within 30s of SIGTERM")
		p.Kill()
	}
}

// metrics scrapes /metrics: each family's value summed over its labels.
func (p *calibd) metrics() (map[string]float64, error) {
	r, err := http.Get(p.base + "/metrics")
	if err != nil {
		return nil, err
	}
	defer r.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		name := line[:i]
		if j := strings.IndexByte(name, '{'); j >= 0 {
			name = name[:j]
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[name] += v
	}
	return out, sc.Err()
}

func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// calibdEnv is the configuration of a calibd under test: the given
// database and broker, a fixed client id, a free HTTP port, no scheduled
// jobs.
func calibdEnv(t *testing.T, databaseURL, mqttURL, clientID string) map[string]string {
	return map[string]string{
		"ENV":              "development",
		"DATABASE_URL":     databaseURL,
		"MQTT_URL":         mqttURL,
		"MQTT_CLIENT_ID":   clientID,
		"HTTP_ADDR":        fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
		"LOG_LEVEL":        "warn",
		"SHUTDOWN_TIMEOUT": "5s",
		"SCHEDULE_PLAN":    "off",
		"SCHEDULE_VISITS":  "off",
		"SCHEDULE_OVERDUE": "off",
		"SCHEDULE_LIFTS":   "off",
		"SCHEDULE_SILENT":  "off",
	}
}
