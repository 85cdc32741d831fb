package store_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
	"github.com/calibd/calibd/internal/testenv"
)

// TestDeadLetterHistory: each dead letter is filed under the device its
// topic names, so the tenants who see that device (and only they) read why
// its messages were refused, newest first; the regulator reads every one,
// also those naming no device or an unknown one.
func TestDeadLetterHistory(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		ctx := w.ctx
		unknown := "0195a2f1-0000-7000-8000-00000000abcd"
		letter := func(topic, reason string, payload string, at time.Duration) devices.DeadLetter {
			return devices.DeadLetter{Topic: topic, Reason: reason, Detail: reason + " detail", Payload: []byte(payload), Received: t0.Add(at)}
		}
		letters := []devices.DeadLetter{
			letter(devices.DeviceTopic(w.thermA.ID, devices.MessageChecks, false), devices.ReasonBadUnit, `{"unit":"degF"}`, 0),
			letter(devices.DeviceTopic(w.elevA.ID, devices.MessageTelemetry, false), devices.ReasonNotJSON, "\xff\xfe", time.Second),
			letter(devices.DeviceTopic(w.thermB.ID, devices.MessageChecks, true), devices.ReasonTooOld, "[]", 2*time.Second),
			letter(devices.DeviceTopic(unknown, devices.MessageEvents, false), devices.ReasonUnknownDevice, "{}", 3*time.Second),
			letter("calibd/v1/devices/not-a-device/checks", devices.ReasonBadTopic, "{}", 4*time.Second),
			// The id in capitals, and a kind the contract lacks: still thermA's.
			letter(devices.TopicPrefix+strings.ToUpper(w.thermA.ID)+"/photos", devices.ReasonBadTopic, "x", 5*time.Second),
		}
		if err := st.SaveDeadLetters(ctx, letters); err != nil {
			t.Fatalf("SaveDeadLetters: %v", err)
		}
		topics := func(a devices.Actor, f devices.DeadLetterFilter, p devices.Page) []string {
			t.Helper()
			items, _, err := st.ListDeadLetters(ctx, a, f, p)
			if err != nil {
				t.Fatalf("ListDeadLetters: %v", err)
			}
			var out []string
			for _, l := range items {
				out = append(out, l.Topic)
			}
			return out
		}
		want := func(idx ...int) []string {
			var out []string
			for _, i := range idx {
				out = append(out, letters[i].Topic)
			}
			return out
		}
		for _, c := range []struct {
			who   string
			actor devices.Actor
			want  []string
		}{
			{"the regulator", w.reg, want(5, 4, 3, 2, 1, 0)},
			{"operator A", w.memberA, want(5, 1, 0)},
			{"operator B", w.adminB, want(2)},
			{"thermA's institute", w.instAdmin, want(5, 0)},
			{"elevA's firm", w.firmAdmin, want(1)},
		} {
			if got := topics(c.actor, devices.DeadLetterFilter{}, devices.Page{}); !slices.Equal(got, c.want) {
				t.Errorf("%s lists %q, want %q", c.who, got, c.want)
			}
		}
		if got := topics(w.adminB, devices.DeadLetterFilter{DeviceID: w.thermA.ID}, devices.Page{}); len(got) != 0 {
			t.Errorf("operator B filtering by A's thermometer lists %q", got)
		}
		if got := topics(w.reg, devices.DeadLetterFilter{DeviceID: unknown}, devices.Page{}); !slices.Equal(got, want(3)) {
			t.Errorf("the regulator by an unknown device's id lists %q", got)
		}
		if got := topics(w.reg, devices.DeadLetterFilter{Reason: devices.ReasonBadTopic}, devices.Page{}); !slices.Equal(got, want(5, 4)) {
			t.Errorf("bad_topic letters = %q", got)
		}
		from, to := t0.Add(time.Second), t0.Add(3*time.Second)
		if got := topics(w.reg, devices.DeadLetterFilter{From: &from, To: &to}, devices.Page{}); !slices.Equal(got, want(2, 1)) {
			t.Errorf("letters received in [1 s, 3 s) = %q", got)
		}

		// One device's letters, a page at a time, newest first.
		var got []devices.DeadLetter
		p := devices.Page{Limit: 1}
		for pages := 0; ; pages++ {
			items, next, err := st.DeviceDeadLetters(ctx, w.instAdmin, strings.ToUpper(w.thermA.ID), devices.DeadLetterFilter{}, p)
			if err != nil || pages > 2 {
				t.Fatalf("DeviceDeadLetters: %v (pages %d)", err, pages)
			}
			got = append(got, items...)
			if next == "" {
				break
			}
			p.Cursor = next
		}
		if len(got) != 2 || got[0].Topic != letters[5].Topic || got[1].DeviceID != w.thermA.ID || got[1].Reason != devices.ReasonBadUnit ||
			string(got[1].Payload) != `{"unit":"degF"}` || !got[1].Received.Equal(t0) || got[0].ID <= got[1].ID {
			t.Errorf("thermA's letters = %+v", got)
		}
		_, _, err := st.DeviceDeadLetters(ctx, w.adminB, w.thermA.ID, devices.DeadLetterFilter{}, devices.Page{})
		wantIs(t, "operator B reads A's thermometer's dead letters", err, devices.ErrNotFound)
		_, _, err = st.DeviceDeadLetters(ctx, w.instAdmin, w.elevA.ID, devices.DeadLetterFilter{}, devices.Page{})
		wantIs(t, "the institute reads a lift's dead letters", err, devices.ErrNotFound)
		_, _, err = st.ListDeadLetters(ctx, w.reg, devices.DeadLetterFilter{}, devices.Page{Cursor: "bm90LWEtY3Vyc29y"})
		wantFields(t, "a forged cursor", err, "cursor")
	})
}

// TestDeadLetterDeviceMigration: letters kept before dead letters had a
// device are filed under the device their topic names when the migration
// runs, so a tenant sees its older ones too; the migration also goes down.
func TestDeadLetterDeviceMigration(t *testing.T) {
	t.Parallel()
	testenv.EachStore(t, func(t *testing.T, st *store.Store) {
		w := newWorld(t, st)
		if err := st.MigrateDownTo(w.ctx, 19); err != nil {
			t.Fatalf("down to 19: %v", err)
		}
		topics := []string{
			devices.DeviceTopic(w.thermA.ID, devices.MessageChecks, false),
			devices.TopicPrefix + strings.ToUpper(w.elevA.ID) + "/telemetry/senml",
			devices.TopicPrefix + w.thermB.ID,
			devices.TopicPrefix + w.thermB.ID + "x/checks",
			"calibd/v1/devices/not-a-device/checks",
			"elsewhere",
		}
		for _, topic := range topics {
			if _, err := st.SQLDB().ExecContext(w.ctx, "INSERT INTO dead_letters (topic, reason, detail, payload, received_at) VALUES ($1, 'not_json', '', $2, $3)",
				topic, []byte("x"), t0); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.Migrate(w.ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
		got, _, err := st.ListDeadLetters(w.ctx, w.reg, devices.DeadLetterFilter{}, devices.Page{})
		if err != nil || len(got) != len(topics) {
			t.Fatalf("ListDeadLetters = %d letters, %v", len(got), err)
		}
		want := []string{"", "", "", w.thermB.ID, w.elevA.ID, w.thermA.ID} // newest first
		for i, l := range got {
			if l.DeviceID != want[i] {
				t.Errorf("letter on %q: device %q, want %q", l.Topic, l.DeviceID, want[i])
			}
		}
		if mine, _, _ := st.ListDeadLetters(w.ctx, w.adminA, devices.DeadLetterFilter{}, devices.Page{}); len(mine) != 2 {
			t.Errorf("operator A sees %d of the older letters, want 2", len(mine))
		}
	})
}
