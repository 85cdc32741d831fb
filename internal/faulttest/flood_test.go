package faulttest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/devices/devicestest"
	"github.com/calibd/calibd/internal/ingest"
	"github.com/calibd/calibd/internal/testenv"
)

// floodItem is one message of the flood and what must become of it: a
// stored reading (good) or a dead letter with reason.
type floodItem struct {
	topic   string
	payload []byte
	good    *key
	reason  string
}

// TestMalformedFlood goes further than internal/ingest's TestIngestFlood
// (ten bad payloads, the embedded broker, an in-memory store): through a
// real Mosquitto into a database-backed ingest, as fast as one device can
// publish, it interleaves good checks of two thermometers with FuzzDecode's
// whole seed corpus (devicestest.DecodeCases, published as is: their
// device is unknown here, so even the well-formed ones are refused) and
// random bytes on every topic of a real thermometer. Every good check is
// stored, every bad message delivered is dead-lettered with the reason the
// decoder gives it (counted by topic and reason in dead_letters, and in
// calibd_ingest_messages_dead_lettered_total), everything is acknowledged,
// and the stream flows on afterwards.
func TestMalformedFlood(t *testing.T) {
	for _, dialect := range testenv.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			mq := testenv.StartMosquitto(t, testenv.MosquittoOptions{})
			st := testenv.Store(t, dialect)
			db := st.SQLDB()
			ids := thermometers(t, st, 2)
			in, reg := startIngest(t, mq.URL(), st, newClientID("calibd-fault"))

			seed := time.Now().UnixNano()
			rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
			bad := append(seedItems(t), randomItems(t, rng, ids[0], 300)...)
			bad = append(bad, hostileItems(t, ids[0])...)
			rng.Shuffle(len(bad), func(i, j int) { bad[i], bad[j] = bad[j], bad[i] })
			var items []floodItem
			seq := map[string]int64{}
			for k := 0; k < 400 || len(bad) > 0; k++ {
				if k < 400 {
					id := ids[k%2]
					seq[id]++
					items = append(items, floodItem{topic: devices.DeviceTopic(id, devices.MessageChecks, false),
						payload: []byte(checkPayload(seq[id])), good: &key{id, seq[id]}})
				}
				if len(bad) > 0 {
					items = append(items, bad[0])
					bad = bad[1:]
				}
			}

			pub := publisher(t, mq.URL())
			toks := make([]paho.Token, len(items))
			for k, it := range items {
				toks[k] = pub.Publish(it.topic, 1, false, it.payload)
			}
			wantGood := map[key]bool{}
			wantLetters := map[[2]string]int{} // (topic, reason)
			wantReasons := map[string]float64{}
			delivered, letters := 0, 0
			for k, it := range items {
				if !toks[k].WaitTimeout(30*time.Second) || toks[k].Error() != nil {
					t.Fatalf("publish %d (%s): %v", k, it.topic, toks[k].Error())
				}
				if !subscribed(it.topic) {
					continue // no subscription matches: the broker drops it
				}
				delivered++
				if it.good != nil {
					wantGood[*it.good] = true
					continue
				}
				letters++
				wantLetters[[2]string{it.topic, it.reason}]++
				wantReasons[it.reason]++
			}
			t.Logf("flood (random seed %d): %d messages, %d delivered: %d good checks, %d malformed or refused (%d distinct reasons)",
				seed, len(items), delivered, len(wantGood), letters, len(wantReasons))

			eventually(t, 60*time.Second, "every delivered message to be handled", func() bool {
				return metric(t, reg, "calibd_ingest_ack_latency_seconds") >= float64(delivered)
			})
			checkExactlyOnce(t, db, wantGood)
			gotLetters := map[[2]string]int{}
			rows, err := db.QueryContext(t.Context(), "SELECT topic, reason, count(*) FROM dead_letters GROUP BY topic, reason")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var tr [2]string
				var n int
				if err := rows.Scan(&tr[0], &tr[1], &n); err != nil {
					t.Fatal(err)
				}
				gotLetters[tr] = n
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
			for tr, n := range wantLetters {
				if gotLetters[tr] != n {
					t.Errorf("dead letters on %s with reason %s: %d, want %d", tr[0], tr[1], gotLetters[tr], n)
				}
			}
			for tr, n := range gotLetters {
				if wantLetters[tr] == 0 {
					t.Errorf("%d unexpected dead letters on %s with reason %s", n, tr[0], tr[1])
				}
			}
			if got := metric(t, reg, "calibd_ingest_messages_dead_lettered_total"); got != float64(letters) {
				t.Errorf("calibd_ingest_messages_dead_lettered_total = %v, want %d", got, letters)
			}
			gotReasons := metricByLabel(t, reg, "calibd_ingest_messages_dead_lettered_total", "reason")
			for _, r := range sortedKeys(wantReasons) {
				if gotReasons[r] != wantReasons[r] {
					t.Errorf("calibd_ingest_messages_dead_lettered_total{reason=%q} = %v, want %v", r, gotReasons[r], wantReasons[r])
				}
			}
			if got := metric(t, reg, "calibd_ingest_messages_stored_total"); got != float64(len(wantGood)) {
				t.Errorf("calibd_ingest_messages_stored_total = %v, want %d", got, len(wantGood))
			}
			if got, want := metric(t, reg, "calibd_ingest_ack_latency_seconds"), metric(t, reg, "calibd_ingest_messages_received_total"); got != want {
				t.Errorf("%v messages acknowledged of %v received", got, want)
			}

			// Not stalled: a check published now is stored at once.
			next := key{ids[1], seq[ids[1]] + 1}
			tok := pub.Publish(devices.DeviceTopic(next.dev, devices.MessageChecks, false), 1, false, checkPayload(next.seq))
			if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				t.Fatalf("publish after the flood: %v", tok.Error())
			}
			eventually(t, 10*time.Second, "a check published after the flood to be stored", func() bool {
				return count(db, "SELECT count(*) FROM readings WHERE seq = $1", next.seq) == 1
			})
			if !in.Connected() {
				t.Error("the ingest lost its broker during the flood")
			}
		})
	}
}

// subscribed reports whether the ingest's subscriptions match topic.
func subscribed(topic string) bool {
	return slices.ContainsFunc(ingest.Filters(""), func(f string) bool { return topicMatches(f, topic) })
}

// expectedReason is the dead-letter reason of a payload from a device
// that is not registered: the decoder's reason, or unknown_device for a
// payload it accepts. ok is false when the answer changes within the next
// minute (a case whose timestamp is about to leave the decoder's window),
// so the ingest, deciding a moment later, might answer otherwise.
func expectedReason(topic string, payload []byte) (reason string, ok bool) {
	now := time.Now().UTC()
	r1, r2 := decodeReason(topic, payload, now), decodeReason(topic, payload, now.Add(time.Minute))
	return r1, r1 == r2
}

func decodeReason(topic string, payload []byte, now time.Time) string {
	_, err := devices.Decode(topic, payload, now, devices.DecodeLimits{})
	if err == nil {
		return ingest.ReasonUnknownDevice
	}
	var de *devices.DecodeError
	if !errors.As(err, &de) {
		return devices.ReasonNotJSON
	}
	return de.Reason
}

// seedItems is FuzzDecode's seed corpus, each case on its own topic.
func seedItems(t *testing.T) []floodItem {
	t.Helper()
	var out []floodItem
	for _, c := range devicestest.DecodeCases() {
		reason, ok := expectedReason(c.Topic, []byte(c.Payload))
		if !ok {
			t.Logf("seed %q left out: its outcome changes within the minute", c.Name)
			continue
		}
		out = append(out, floodItem{topic: c.Topic, payload: []byte(c.Payload), reason: reason})
	}
	if len(out) < 50 {
		t.Fatalf("only %d decode seeds", len(out))
	}
	return out
}

// hostileItems are payloads whose refusal must itself be storable: NUL
// and lone surrogates escaped in JSON strings and names (PostgreSQL text
// refuses NUL and invalid UTF-8, and a dead letter the database refuses
// would be retried forever, stalling the stream), raw NUL and invalid
// UTF-8, deep nesting, and a topic whose device segment is not a UUID.
func hostileItems(t *testing.T, id string) []floodItem {
	t.Helper()
	ts := time.Now().UTC().Format(time.RFC3339)
	bt := fmt.Sprint(time.Now().Unix())
	topic := func(kind devices.MessageKind, senml bool) string { return devices.DeviceTopic(id, kind, senml) }
	checks, events, tel := topic(devices.MessageChecks, false), topic(devices.MessageEvents, false), topic(devices.MessageTelemetry, false)
	sChecks, sEvents, sTel := topic(devices.MessageChecks, true), topic(devices.MessageEvents, true), topic(devices.MessageTelemetry, true)
	check := func(field, value string) string {
		f := map[string]string{"ts": `"` + ts + `"`, "seq": "1", "reference": "37", "value": "37", "unit": `"Cel"`, "mode": `"calibration"`}
		f[field] = value
		return `{"ts":` + f["ts"] + `,"seq":` + f["seq"] + `,"reference":` + f["reference"] + `,"value":` + f["value"] +
			`,"unit":` + f["unit"] + `,"mode":` + f["mode"] + `}`
	}
	cases := []struct{ topic, payload string }{
		{checks, check("ts", `"`+ts+`\u0000"`)},
		{checks, check("unit", `"C\u0000el"`)},
		{checks, check("mode", `"\ud800"`)},
		{checks, `{"\u0000":1}`},
		{checks, "\x00"},
		{checks, "{\"ts\":\"\xff\xfe\"}"},
		{checks, strings.Repeat("[", 2000) + strings.Repeat("]", 2000)},
		{events, `{"ts":"` + ts + `","seq":1,"code":"x\u0000","severity":"critical"}`},
		{events, `{"ts":"` + ts + `","seq":1,"code":"power_loss","severity":"\u0000"}`},
		{tel, `{"ts":"` + ts + `","seq":1,"metrics":{"a\u0000":1}}`},
		{sChecks, `[{"bn":"\u0000","bt":` + bt + `,"n":"seq","v":1}]`},
		{sChecks, `[{"bt":` + bt + `,"n":"seq","v":1},{"n":"reference","u":"\u0000","v":37},{"n":"value","u":"Cel","v":37},{"n":"mode","vs":"calibration"}]`},
		{sEvents, `[{"bt":` + bt + `,"n":"seq","v":1},{"n":"code","vs":"\u0000"},{"n":"severity","vs":"critical"}]`},
		{sTel, `[{"bt":` + bt + `,"n":"seq","v":1},{"n":"door","u":"\udfff","v":1}]`},
		{devices.TopicPrefix + "ünïcødé/checks", check("seq", "2")},
	}
	out := make([]floodItem, 0, len(cases))
	for _, c := range cases {
		reason, ok := expectedReason(c.topic, []byte(c.payload))
		if !ok || reason == ingest.ReasonUnknownDevice {
			t.Fatalf("hostile payload %q on %s: the decoder accepts it", c.payload, c.topic)
		}
		out = append(out, floodItem{topic: c.topic, payload: []byte(c.payload), reason: reason})
	}
	return out
}

// randomItems is n payloads of random bytes (mostly short, some past the
// size limit) on the six topics of device id, which exists: each is
// refused by the decoder, never by the device lookup.
func randomItems(t *testing.T, rng *rand.Rand, id string, n int) []floodItem {
	t.Helper()
	var topics []string
	for _, k := range devices.MessageKinds {
		topics = append(topics, devices.DeviceTopic(id, k, false), devices.DeviceTopic(id, k, true))
	}
	out := make([]floodItem, 0, n)
	for len(out) < n {
		size := rng.IntN(64)
		if rng.IntN(10) == 0 {
			size = rng.IntN(2 * devices.DefaultMaxPayloadBytes)
		}
		p := make([]byte, size)
		for i := range p {
			p[i] = byte(rng.UintN(256))
		}
		topic := topics[rng.IntN(len(topics))]
		reason, ok := expectedReason(topic, p)
		if !ok || reason == ingest.ReasonUnknownDevice {
			// Random bytes the decoder accepts: not this test's case.
			continue
		}
		out = append(out, floodItem{topic: topic, payload: p, reason: reason})
	}
	return out
}
