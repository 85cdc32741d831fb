package devices_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
)

// The hand-written JSON splitter (jsonscan.go) must give what the
// encoding/json walk it replaced gave (oldreading_test.go): the same
// members, and for bad input the same DecodeError, message included. These
// tests and FuzzReadObjectMatchesEncodingJSON compare the two.

// splitSeeds are payloads for the splitter: one of each way to be wrong
// (every context of encoding/json's syntax errors, each place the data can
// end), escapes, nesting and odd whitespace.
func splitSeeds() []string {
	return []string{
		``, `   `, "\t\r\n", `{`, `{ `, `{}`, ` {} `, `{}x`, `{} {}`, `{}]`, `{]`, `{"a":1]`, `{"a":1}}`,
		`{"a"`, `{"a" `, `{"a":`, `{"a":   `, `{"a":1`, `{"a":1 `, `{"a":1,`, `{"a":1, `, `{"a":"`, `{"a":"x`, `{"a`, `{"a\`, `{"a\u00`,
		`{"a":1,}`, `{"a":1 "b":2}`, `{"a":1 :}`, `{"a":1,]`, `{"a":1,[`, `{"a" 1}`, `{"a",1}`, `{1:2}`, `{[]}`, `{{}}`, `{:}`, `{,}`, `{null}`,
		`{"a":1,"a":2}`, `{"a":1,"b":2,"a":`, `{"a":1,"\u0061":2}`, `{"\ud800":1,"\udbff":2}`, `{"\ud83d\ude00":1}`, `{"é":1,"é":2}`,
		"{\"\xff\":1}", "{\"\xff\":1,\"\xfe\":2}", "{\"a\x00\":1}", "{\"a\x7f\":1}", `{"\"\\\/\b\f\n\r\t":1}`,
		`{"a":[1,2,{"b":[]}],"c":{"d":null},"e":[],"f":{}}`, `{"a" : [ 1 , 2 ] , "b" : { "c" : "d" } }`, "{\n\t\"a\"\r:\n1\n}\n",
		`{"a":"\u00e9\ud800\uDC00x\"\\\/\b\f\n\r\t"}`, `{"a":"\u12G4"}`, `{"a":"\x"}`, "{\"a\":\"line\nbreak\"}", "{\"a\":\"\xff\"}",
		`{"a":-}`, `{"a":-x}`, `{"a":-0.5e+10}`, `{"a":01}`, `{"a":-01}`, `{"a":1.}`, `{"a":1.x}`, `{"a":1e}`, `{"a":1e+}`, `{"a":1E-x}`,
		`{"a":1.5.3}`, `{"a":0x10}`, `{"a":+1}`, `{"a":.5}`, `{"a":1e400}`, `{"a":-1e400}`, `{"a":1e-400}`, `{"a":123456789012345678901234567890}`,
		`{"a":tru}`, `{"a":trux}`, `{"a":truex}`, `{"a":nul}`, `{"a":nulL}`, `{"a":fals}`, `{"a":fase}`, `{"a":nan}`, `{"a":t`, `{"a":f`, `{"a":n`,
		`{"a":[1,]}`, `{"a":[,1]}`, `{"a":[1 2]}`, `{"a":[1}`, `{"a":{"b":1,}}`, `{"a":{"b" 1}}`, `{"a":{"b":1 "c":2}}`, `{"a":{1:2}}`, `{"a":{"b":1]}`,
		`{"a":[`, `{"a":[1`, `{"a":{`, `{"a":{"b"`, `{"a":{"b":`, `{"a":{"b":1`, `{"a":{"b":1,`, `{"a":}`, `{"a":,}`, `{"a":]`, `{"a":x}`,
		`1`, `-1`, `1e400`, `-1e400`, `1e-400`, `123 456`, `1x`, `01`, `-`, `1.`, `"s"`, `"s`, `"s" x`, `true`, `tru`, `null`, `nul`, `x`, `]`, `}`, `:`, `,`,
		`[]`, `[1,2]`, `[1e400]`, `[`, `[ `, `[1`, `[1,`, `[1, `, `[1 2]`, `[1,]`, `[,`, `[}`, `[1}`, `[1]]`, `[1] x`, `[1]  `, `[{"n":"x"}]`,
		`[{"n":"x"} {"n":"y"}]`, `[{"n":"x"},{"n":"y","n":"z"}]`, `[1,{"a":1},[2],"s",null,true]`, `[[],{}]`, `[ {"a":1} , 2 ]`, `[{"a":1e400}]`,
		`{"metrics": {"a" : 1 , "b":2 } }`, `{"metrics":1e400}`, `{"metrics":[1]}`,
		strings.Repeat(`{"a":`, 3) + "1" + strings.Repeat("}", 3),
	}
}

// deepSeeds nest to encoding/json's depth limit and one past it. They are
// not fuzz seeds: minimizing what the fuzzer finds from 20 kB of brackets
// takes the fuzzer's time.
func deepSeeds() []string {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	return []string{`{"a":` + deep(10000) + `}`, `{"a":` + deep(10001) + `}`, `[` + deep(10000) + `]`, `[` + deep(10001) + `]`,
		`{"a":` + strings.Repeat(`{"b":`, 9999) + `1` + strings.Repeat(`}`, 9999) + `}`,
		`{"a":` + strings.Repeat(`{"b":`, 10001) + `1` + strings.Repeat(`}`, 10001) + `}`}
}

// checkSplit compares the new splitter with the old on data, as the top
// object, as a nested one, and as a SenML pack.
func checkSplit(t *testing.T, data []byte) {
	t.Helper()
	for _, c := range []struct {
		path string
		top  bool
	}{{"", true}, {"metrics", false}, {"[3]", false}} {
		got, gotErr := devices.ReadObject(data, c.path, c.top)
		want, wantErr := devices.OldReadObject(data, c.path, c.top)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("readObject(%q, %q, %v) members (-old +new):\n%s", data, c.path, c.top, diff)
		}
		if diff := cmp.Diff(wantErr, gotErr); diff != "" {
			t.Fatalf("readObject(%q, %q, %v) error (-old +new):\n%s", data, c.path, c.top, diff)
		}
	}
	got, gotErr := devices.ReadArray(data)
	want, wantErr := devices.OldReadArray(data)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("readArray(%q) elements (-old +new):\n%s", data, diff)
	}
	if diff := cmp.Diff(wantErr, gotErr); diff != "" {
		t.Fatalf("readArray(%q) error (-old +new):\n%s", data, diff)
	}
}

// diffPayloads are the decode table's payloads and the splitter seeds.
func diffPayloads() []string {
	var out []string
	for _, tt := range decodeCases() {
		out = append(out, tt.Payload)
	}
	return append(out, splitSeeds()...)
}

func TestReadObjectMatchesEncodingJSON(t *testing.T) {
	for _, p := range append(diffPayloads(), deepSeeds()...) {
		checkSplit(t, []byte(p))
	}
}

// FuzzReadObjectMatchesEncodingJSON: for any bytes the hand-written
// splitter returns the members and errors the encoding/json walk did, as a
// payload, a nested object and a SenML pack. Seeded from the decode table
// and splitSeeds.
func FuzzReadObjectMatchesEncodingJSON(f *testing.F) {
	for _, tt := range decodeCases() {
		f.Add([]byte(tt.Payload))
	}
	for _, p := range splitSeeds() {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSplit(t, data)
	})
}
