// Package archtest checks the dependency rules of STYLE.md §2.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func TestLayering(t *testing.T) {
	const mod = "github.com/calibd/calibd/"
	rules := []struct {
		pkg    string
		banned []string
	}{
		// The domain imports only the standard library (and small value libraries).
		{mod + "devices", []string{mod + "internal", mod + "scheduler", "gorm.io", "github.com/gin-gonic"}},
		{mod + "scheduler", []string{mod + "internal", "gorm.io", "github.com/gin-gonic"}},
		// gorm stays in the store; gin stays in the API.
		{mod + "internal/httpapi", []string{mod + "internal/store", "gorm.io"}},
		{mod + "internal/store", []string{"github.com/gin-gonic", mod + "internal/httpapi", "github.com/mochi-mqtt"}},
		// The embedded broker knows devices' logins only through the
		// domain interface, never the store; mochi stays in it.
		{mod + "internal/broker", []string{mod + "internal/store", "gorm.io", "github.com/gin-gonic"}},
		{mod + "internal/httpapi", []string{"github.com/mochi-mqtt", "github.com/eclipse/paho.mqtt.golang"}},
		// The dashboard is a client of the domain, as the API is: no store,
		// no gorm; plain net/http, so no gin either.
		{mod + "internal/web", []string{mod + "internal/store", "gorm.io", "github.com/gin-gonic", "github.com/mochi-mqtt",
			"github.com/eclipse/paho.mqtt.golang"}},
		{mod + "devices", []string{"github.com/mochi-mqtt", "github.com/eclipse/paho.mqtt.golang"}},
	}
	for _, r := range rules {
		for _, d := range deps(t, r.pkg) {
			for _, b := range r.banned {
				if strings.HasPrefix(d, b) {
					t.Errorf("%s depends on %s (banned: %s)", r.pkg, d, b)
				}
			}
		}
	}
}

// TestPahoOnlyInIngest: paho stays in internal/ingest (STYLE.md §2), the
// subscriber side, and internal/simulate, the device side (`calibd
// simulate` publishes as a fleet of devices would); other packages reach
// the broker through those, and only tests (of the broker, of the app end
// to end) may use paho directly, as a device would.
func TestPahoOnlyInIngest(t *testing.T) {
	const paho = "github.com/eclipse/paho.mqtt.golang"
	allowed := map[string]bool{
		"github.com/calibd/calibd/internal/ingest":   true,
		"github.com/calibd/calibd/internal/simulate": true,
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/calibd/calibd/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || allowed[f[0]] {
			continue
		}
		for _, imp := range f[1:] {
			if imp == paho || strings.HasPrefix(imp, paho+"/") {
				t.Errorf("%s imports %s; only internal/ingest and internal/simulate may", f[0], imp)
			}
		}
	}
}
