package devices_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/calibd/calibd/devices"
)

// records reads data independently of the package: the data records (not
// blank lines) after the header, keyed by the line each starts on.
func records(tb testing.TB, data []byte) (header []string, byLine map[int][]string) {
	tb.Helper()
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		tb.Fatalf("the parser accepted input encoding/csv rejects in the header: %v", err)
	}
	byLine = map[int][]string{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("the parser accepted input encoding/csv rejects: %v", err)
		}
		line, _ := cr.FieldPos(0)
		byLine[line] = rec
	}
	return header, byLine
}

func allBlank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// checkImport holds the invariants both parsers share.
func checkImport[T any](t *testing.T, data []byte, rows []devices.ImportRow[T], err error, trimmed func(T) []string) {
	t.Helper()
	if err != nil {
		var ve *devices.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("error %v (%T) is not a *devices.ValidationError", err, err)
		}
		if len(ve.Fields) == 0 {
			t.Fatalf("ValidationError with no fields")
		}
		for _, f := range ve.Fields {
			if f.Row < 0 || f.Reason == "" {
				t.Errorf("bad field error %+v", f)
			}
		}
		if rows != nil {
			t.Errorf("%d rows returned with an error", len(rows))
		}
		return
	}
	if len(rows) == 0 || len(rows) > devices.MaxImportRows {
		t.Fatalf("success with %d rows", len(rows))
	}
	header, byLine := records(t, data)
	// Every record with a non-blank cell is a row; records of blank cells
	// only (blank lines, a spreadsheet's ",,,") are skipped.
	seen := map[int]bool{}
	for _, r := range rows {
		seen[r.Line] = true
	}
	for line, rec := range byLine {
		if allBlank(rec) == seen[line] {
			t.Errorf("line %d %q: blank %v, returned as a row %v", line, rec, allBlank(rec), seen[line])
		}
	}
	var zero T
	prev := 1
	for i, r := range rows {
		if r.Line < 2 {
			t.Errorf("row %d: Line = %d, want >= 2", i, r.Line)
		}
		if r.Line <= prev {
			t.Errorf("row %d: Line %d does not follow line %d", i, r.Line, prev)
		}
		prev = r.Line
		for _, p := range r.Problems {
			if p.Row != r.Line || p.Field == "" || p.Reason == "" {
				t.Errorf("line %d: problem %+v does not name its line, field and reason", r.Line, p)
			}
		}
		rec, ok := byLine[r.Line]
		if !ok {
			t.Errorf("line %d: no record starts there", r.Line)
			continue
		}
		if len(rec) != len(header) {
			if len(r.Problems) == 0 || !reflect.DeepEqual(r.Value, zero) {
				t.Errorf("line %d: %d cells for %d columns, but problems %v and value %+v", r.Line, len(rec), len(header), r.Problems, r.Value)
			}
			continue
		}
		// A row has a value or problems.
		if len(r.Problems) == 0 && reflect.DeepEqual(r.Value, zero) {
			t.Errorf("line %d: neither a value nor problems for %q", r.Line, rec)
		}
		for _, s := range trimmed(r.Value) {
			if s != strings.TrimSpace(s) {
				t.Errorf("line %d: cell %q not trimmed", r.Line, s)
			}
		}
	}
}

func FuzzParseThermometersCSV(f *testing.F) {
	for _, tt := range thermometerCSVCases {
		f.Add([]byte(tt.in))
	}
	f.Add([]byte(thHeader + "\n,,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := devices.ParseThermometersCSV(bytes.NewReader(data))
		checkImport(t, data, rows, err, func(v devices.Thermometer) []string {
			s := []string{string(v.Type), v.Manufacturer, v.Model, v.Serial, v.LocationNote, v.ToleranceProfile,
				v.MPEOverrideReason, string(v.Status)}
			for _, m := range v.Modes {
				s = append(s, string(m))
			}
			return s
		})
	})
}

func FuzzParseElevatorsCSV(f *testing.F) {
	for _, tt := range elevatorCSVCases {
		f.Add([]byte(tt.in))
	}
	f.Add([]byte(elHeader + "\n,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := devices.ParseElevatorsCSV(bytes.NewReader(data))
		checkImport(t, data, rows, err, func(v devices.Elevator) []string {
			return []string{v.RegistrationCode, v.Manufacturer, v.Model, string(v.Status)}
		})
	})
}
