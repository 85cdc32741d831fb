package httpapi_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
)

// TestDeadLettersAPI: the operator reads why its thermometer's messages
// were refused, the text of a payload cut inside a character included;
// another operator sees none of them; the regulator sees all, also those
// of unknown devices; query mistakes name the parameter.
func TestDeadLettersAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		unknown := "0195a2f1-0000-7000-8000-00000000abcd"
		cut := strings.Repeat("a", 255) + "é and more"
		now := time.Now().UTC().Truncate(time.Second)
		if err := a.st.SaveDeadLetters(context.Background(), []devices.DeadLetter{
			{Topic: devices.DeviceTopic(w.thermA, devices.MessageChecks, false), Reason: devices.ReasonBadUnit, Detail: `unit "degF" is not Cel or K`,
				Payload: []byte(`{"seq":1,"unit":"degF"}`), Received: now},
			{Topic: devices.DeviceTopic(w.elevA, devices.MessageTelemetry, false), Reason: devices.ReasonNotJSON, Detail: "x",
				Payload: []byte(cut), Received: now},
			{Topic: devices.DeviceTopic(w.elevA, devices.MessageEvents, false), Reason: devices.ReasonNotJSON, Detail: "x",
				Payload: []byte{0xff, 0xfe}, Received: now},
			{Topic: devices.DeviceTopic(unknown, devices.MessageChecks, false), Reason: devices.ReasonUnknownDevice, Detail: "no device",
				Payload: []byte("{}"), Received: now},
		}); err != nil {
			t.Fatal(err)
		}
		items := func(r resp) []map[string]any {
			var out []map[string]any
			for _, it := range r.json(t)["items"].([]any) {
				out = append(out, it.(map[string]any))
			}
			return out
		}

		got := items(a.must(req{method: "GET", path: "/api/v1/devices/" + w.thermA + "/dead-letters", token: w.memberA}, 200))
		if len(got) != 1 || got[0]["device_id"] != w.thermA || got[0]["reason"] != "bad_unit" || got[0]["payload"] != `{"seq":1,"unit":"degF"}` ||
			got[0]["payload_base64"] != base64.StdEncoding.EncodeToString([]byte(`{"seq":1,"unit":"degF"}`)) || got[0]["payload_bytes"] != float64(23) {
			t.Errorf("thermA's dead letters = %v", got)
		}
		lift := items(a.must(req{method: "GET", path: "/api/v1/devices/" + w.elevA + "/dead-letters?reason=not_json", token: w.firmTok}, 200))
		if len(lift) != 2 || lift[0]["payload"] != nil || lift[0]["payload_base64"] != "//4=" ||
			lift[1]["payload"] != strings.Repeat("a", 255) || lift[1]["payload_bytes"] != float64(256) {
			t.Errorf("the lift's dead letters = %v", lift)
		}
		if all := items(a.must(req{method: "GET", path: "/api/v1/dead-letters", token: w.reg}, 200)); len(all) != 4 ||
			all[0]["device_id"] != unknown || all[0]["reason"] != "unknown_device" {
			t.Errorf("the regulator's dead letters = %v", all)
		}
		if mine := items(a.must(req{method: "GET", path: "/api/v1/dead-letters?limit=2", token: w.adminA}, 200)); len(mine) != 2 {
			t.Errorf("operator A's first page = %v", mine)
		}
		r := a.must(req{method: "GET", path: "/api/v1/dead-letters?device_id=" + w.thermA, token: w.adminB}, 200)
		if len(items(r)) != 0 || strings.Contains(string(r.Body), w.thermA) {
			t.Errorf("operator B reads A's dead letters: %s", r.Body)
		}
		for q, field := range map[string]string{"?reason=sneeze": "reason", "?device_id=nope": "device_id", "?from=yesterday": "from",
			"?cursor=bm90LWEtY3Vyc29y": "cursor"} {
			if f := a.must(req{method: "GET", path: "/api/v1/dead-letters" + q, token: w.reg}, 422).fields(t); len(f) == 0 || f[0] != field {
				t.Errorf("%s: errors %v, want %s", q, f, field)
			}
		}
		a.must(req{method: "GET", path: "/api/v1/devices/" + w.thermA + "/dead-letters", token: w.firmTok}, 404)
		a.must(req{method: "GET", path: "/api/v1/devices/not-a-device/dead-letters", token: w.reg}, 404)
	})
}
