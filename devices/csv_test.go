package devices_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/calibd/calibd/devices"
)

// wantRow is an ImportRow with its problems as sorted "row field" keys.
type wantRow[T any] struct {
	Line     int
	Value    T
	Problems []string
}

func problemKeys(fs []devices.FieldError) []string {
	if len(fs) == 0 {
		return nil
	}
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = fmt.Sprintf("%d %s", f.Row, f.Field)
	}
	slices.Sort(out)
	return out
}

func rowsOf[T any](tb testing.TB, rows []devices.ImportRow[T]) []wantRow[T] {
	tb.Helper()
	var out []wantRow[T]
	for _, r := range rows {
		for _, p := range r.Problems {
			if p.Reason == "" {
				tb.Errorf("line %d: problem %q has no reason", r.Line, p.Field)
			}
		}
		out = append(out, wantRow[T]{Line: r.Line, Value: r.Value, Problems: problemKeys(r.Problems)})
	}
	return out
}

// errKeys returns the "row field" keys of a *ValidationError, failing on
// any other error.
func errKeys(tb testing.TB, err error) []string {
	tb.Helper()
	if err == nil {
		return nil
	}
	var ve *devices.ValidationError
	if !errors.As(err, &ve) {
		tb.Fatalf("error %v (%T) is not a *devices.ValidationError", err, err)
	}
	return problemKeys(ve.Fields)
}

const thHeader = "type,manufacturer,model,serial"

var thAllHeader = strings.Join(devices.ThermometerColumns, ",")

func th(typ devices.ThermometerType, manufacturer, model, serial string) devices.Thermometer {
	return devices.Thermometer{Type: typ, Manufacturer: manufacturer, Model: model, Serial: serial}
}

type thermometerCSVCase struct {
	name       string
	in         string
	want       []wantRow[devices.Thermometer]
	wantErr    []string // "row field" keys of the *ValidationError
	wantReason string   // a substring of the first error reason
}

// thermometerCSVCases also seed FuzzParseThermometersCSV.
var thermometerCSVCases = []thermometerCSVCase{
	{
		name: "minimal",
		in:   thHeader + "\nir_ear,Braun,IRT6520,SN1\n",
		want: []wantRow[devices.Thermometer]{{Line: 2, Value: th(devices.TypeIREar, "Braun", "IRT6520", "SN1")}},
	},
	{
		name: "no final newline",
		in:   thHeader + "\nir_ear,Braun,IRT6520,SN1",
		want: []wantRow[devices.Thermometer]{{Line: 2, Value: th(devices.TypeIREar, "Braun", "IRT6520", "SN1")}},
	},
	{
		name: "every column",
		in: thAllHeader + "\n" +
			"ir_ear,Braun,IRT6520,SN1,gate 3,34.5,42.5,jjg1164_ear,0.3,lab report,calibration;body," + testUUID + ",quarantined,180,2025-06-01T08:00:00+08:00\n",
		want: []wantRow[devices.Thermometer]{{Line: 2, Value: devices.Thermometer{
			Type: devices.TypeIREar, Manufacturer: "Braun", Model: "IRT6520", Serial: "SN1", LocationNote: "gate 3",
			RangeMinC: 34.5, RangeMaxC: 42.5, ToleranceProfile: "jjg1164_ear", MPEOverrideC: ptr(0.3),
			MPEOverrideReason: "lab report", Modes: []devices.ReadingMode{devices.ModeCalibration, devices.ModeBody},
			InstituteID: ptr(testUUID), Status: devices.StatusQuarantined, IntervalDays: 180,
			LastCalibratedAt: ptr(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)),
		}}},
	},
	{
		name: "empty optional cells stay zero",
		in:   thAllHeader + "\nir_ear,Braun,IRT6520,SN1,,,,,,,,,,,\n",
		want: []wantRow[devices.Thermometer]{{Line: 2, Value: th(devices.TypeIREar, "Braun", "IRT6520", "SN1")}},
	},
	{
		name: "last calibration as a date",
		in:   thHeader + ",last_calibrated_at\nir_ear,Braun,IRT6520,SN1,2025-06-01\n",
		want: []wantRow[devices.Thermometer]{{Line: 2, Value: func() devices.Thermometer {
			v := th(devices.TypeIREar, "Braun", "IRT6520", "SN1")
			v.LastCalibratedAt = ptr(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
			return v
		}()}},
	},
	{
		name: "modes split on ';' and trimmed",
		in:   thHeader + ",modes\nir_ear,A,B,1, calibration ; body \nir_ear,A,B,2,body;\nir_ear,A,B,3,\n",
		want: []wantRow[devices.Thermometer]{
			{Line: 2, Value: func() devices.Thermometer {
				v := th(devices.TypeIREar, "A", "B", "1")
				v.Modes = []devices.ReadingMode{devices.ModeCalibration, devices.ModeBody}
				return v
			}()},
			{Line: 3, Value: func() devices.Thermometer {
				v := th(devices.TypeIREar, "A", "B", "2")
				v.Modes = []devices.ReadingMode{devices.ModeBody, ""}
				return v
			}()},
			{Line: 4, Value: th(devices.TypeIREar, "A", "B", "3")},
		},
	},
	{
		name: "cells trimmed",
		in:   thHeader + "\n ir_ear , Braun ,\tIRT6520\t, SN1 \n",
		want: []wantRow[devices.Thermometer]{{Line: 2, Value: th(devices.TypeIREar, "Braun", "IRT6520", "SN1")}},
	},
	{
		name: "header with BOM",
		in:   "\ufeff" + thHeader + "\nir_ear,Braun,IRT6520,SN1\n",
		want: []wantRow[devices.Thermometer]{{Line: 2, Value: th(devices.TypeIREar, "Braun", "IRT6520", "SN1")}},
	},
	{
		name: "quoted header with BOM",
		in:   "\ufeff\"type\",\"manufacturer\",\"model\",\"serial\"\n\"ir_ear\",\"Braun\",\"IRT6520\",\"SN1\"\n",
		want: []wantRow[devices.Thermometer]{{Line: 2, Value: th(devices.TypeIREar, "Braun", "IRT6520", "SN1")}},
	},
	{
		name: "header case and spaces ignored",
		in:   " Type ,MANUFACTURER,Model , serial\nir_ear,Braun,IRT6520,SN1\n",
		want: []wantRow[devices.Thermometer]{{Line: 2, Value: th(devices.TypeIREar, "Braun", "IRT6520", "SN1")}},
	},
	{
		name: "columns in any order",
		in:   "serial,model,manufacturer,type\nSN1,IRT6520,Braun,ir_ear\n",
		want: []wantRow[devices.Thermometer]{{Line: 2, Value: th(devices.TypeIREar, "Braun", "IRT6520", "SN1")}},
	},
	{
		name: "export-only columns ignored",
		in:   thHeader + ",id,next_due_at\nir_ear,Braun,IRT6520,SN1," + testUUID + ",2026-01-01T00:00:00Z\n",
		want: []wantRow[devices.Thermometer]{{Line: 2, Value: th(devices.TypeIREar, "Braun", "IRT6520", "SN1")}},
	},
	{
		name: "CRLF line endings",
		in:   thHeader + "\r\nir_ear,A,B,1\r\nir_ear,A,B,2\r\n",
		want: []wantRow[devices.Thermometer]{
			{Line: 2, Value: th(devices.TypeIREar, "A", "B", "1")},
			{Line: 3, Value: th(devices.TypeIREar, "A", "B", "2")},
		},
	},
	{
		name: "blank lines skipped, line numbers kept",
		in:   thHeader + "\n\nir_ear,A,B,1\n   \n\t\nir_ear,A,B,2\n\n",
		want: []wantRow[devices.Thermometer]{
			{Line: 3, Value: th(devices.TypeIREar, "A", "B", "1")},
			{Line: 6, Value: th(devices.TypeIREar, "A", "B", "2")},
		},
	},
	{
		name: "rows of empty cells (a spreadsheet's tail) skipped",
		in:   thHeader + "\nir_ear,A,B,1\n,,,\n , ,\t,\n\"\",,,\n",
		want: []wantRow[devices.Thermometer]{
			{Line: 2, Value: th(devices.TypeIREar, "A", "B", "1")},
		},
	},
	{
		name: "quoted comma and newline keep later line numbers",
		in: thHeader + ",location_note,range_min_c\n" +
			"ir_ear,A,B,1,\"gate 3, level 2\nnear exit\",35\n" +
			"ir_ear,A,B,2,\"say \"\"hi\"\"\",abc\n",
		want: []wantRow[devices.Thermometer]{
			{Line: 2, Value: func() devices.Thermometer {
				v := th(devices.TypeIREar, "A", "B", "1")
				v.LocationNote, v.RangeMinC = "gate 3, level 2\nnear exit", 35
				return v
			}()},
			{Line: 4, Value: func() devices.Thermometer {
				v := th(devices.TypeIREar, "A", "B", "2")
				v.LocationNote = `say "hi"`
				return v
			}(), Problems: []string{"4 range_min_c"}},
		},
	},
	{
		name: "record starting with a multi-line quoted cell",
		in:   "location_note," + thHeader + "\n\"line one\nline two\n\",ir_ear,A,B,1\n,ir_ear,A,B,2\n",
		want: []wantRow[devices.Thermometer]{
			{Line: 2, Value: func() devices.Thermometer {
				v := th(devices.TypeIREar, "A", "B", "1")
				v.LocationNote = "line one\nline two"
				return v
			}()},
			{Line: 5, Value: th(devices.TypeIREar, "A", "B", "2")},
		},
	},
	{
		name: "wrong cell count",
		in:   thHeader + "\nir_ear,A,B\nir_ear,A,B,1\nir_ear,A,B,2,extra\n",
		want: []wantRow[devices.Thermometer]{
			{Line: 2, Problems: []string{"2 csv"}},
			{Line: 3, Value: th(devices.TypeIREar, "A", "B", "1")},
			{Line: 4, Problems: []string{"4 csv"}},
		},
	},
	{
		name: "bad numbers keep their line",
		in: thHeader + ",range_min_c,range_max_c,mpe_override_c,calibration_interval_days\n" +
			"ir_ear,A,B,1,35,42,,365\n" +
			"ir_ear,A,B,2,abc,NaN,Inf,12.5\n" +
			"ir_ear,A,B,3,1e400,35°C,-Infinity,1y\n",
		want: []wantRow[devices.Thermometer]{
			{Line: 2, Value: func() devices.Thermometer {
				v := th(devices.TypeIREar, "A", "B", "1")
				v.RangeMinC, v.RangeMaxC, v.IntervalDays = 35, 42, 365
				return v
			}()},
			{Line: 3, Value: th(devices.TypeIREar, "A", "B", "2"),
				Problems: sorted("3 range_min_c", "3 range_max_c", "3 mpe_override_c", "3 calibration_interval_days")},
			{Line: 4, Value: th(devices.TypeIREar, "A", "B", "3"),
				Problems: sorted("4 range_min_c", "4 range_max_c", "4 mpe_override_c", "4 calibration_interval_days")},
		},
	},
	{
		name: "negative and exponent numbers parse",
		in:   thHeader + ",range_min_c,range_max_c,calibration_interval_days\nir_ear,A,B,1,-5,4.2e1,-3\n",
		want: []wantRow[devices.Thermometer]{{Line: 2, Value: func() devices.Thermometer {
			v := th(devices.TypeIREar, "A", "B", "1")
			v.RangeMinC, v.RangeMaxC, v.IntervalDays = -5, 42, -3
			return v
		}()}},
	},
	{
		name: "bad dates keep their line",
		in: thHeader + ",last_calibrated_at\n" +
			"ir_ear,A,B,1,2025-06-01T08:00:00Z\n" +
			"ir_ear,A,B,2,01/06/2025\n" +
			"\n" +
			"ir_ear,A,B,3,2025-13-01\n" +
			"ir_ear,A,B,4,2025-06-01 08:00\n",
		want: []wantRow[devices.Thermometer]{
			{Line: 2, Value: func() devices.Thermometer {
				v := th(devices.TypeIREar, "A", "B", "1")
				v.LastCalibratedAt = ptr(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
				return v
			}()},
			{Line: 3, Value: th(devices.TypeIREar, "A", "B", "2"), Problems: []string{"3 last_calibrated_at"}},
			{Line: 5, Value: th(devices.TypeIREar, "A", "B", "3"), Problems: []string{"5 last_calibrated_at"}},
			{Line: 6, Value: th(devices.TypeIREar, "A", "B", "4"), Problems: []string{"6 last_calibrated_at"}},
		},
	},
	{
		name:       "empty file",
		in:         "",
		wantErr:    []string{"0 csv"},
		wantReason: "empty",
	},
	{
		name:       "header only",
		in:         thHeader + "\n",
		wantErr:    []string{"0 csv"},
		wantReason: "no data rows",
	},
	{
		name:       "header and blank lines only",
		in:         thHeader + "\n\n  \n\n",
		wantErr:    []string{"0 csv"},
		wantReason: "no data rows",
	},
	{
		name:       "unknown column",
		in:         thHeader + ",colour\nir_ear,A,B,1,red\n",
		wantErr:    []string{"1 colour"},
		wantReason: "unknown column",
	},
	{
		name:       "duplicate column",
		in:         "type,manufacturer,model,serial,Type\nir_ear,A,B,1,ir_ear\n",
		wantErr:    []string{"1 type"},
		wantReason: "twice",
	},
	{
		name:       "missing required column",
		in:         "type,manufacturer,model\nir_ear,A,B\n",
		wantErr:    []string{"1 serial"},
		wantReason: "required column is missing",
	},
	{
		name:    "every header problem listed",
		in:      "type,colour,type,location_note\nir_ear,red,ir_ear,x\n",
		wantErr: sorted("1 colour", "1 type", "1 manufacturer", "1 model", "1 serial"),
	},
	{
		name:    "empty header cell is unknown",
		in:      thHeader + ",\nir_ear,A,B,1,\n",
		wantErr: []string{"1 "},
	},
	{
		name:    "elevator file is not a thermometer file",
		in:      "registration_code,manufacturer\nDT-1,Otis\n",
		wantErr: sorted("1 registration_code", "1 type", "1 model", "1 serial"),
	},
	{
		name:    "bare quote is a syntax error on its line",
		in:      thHeader + "\nir_ear,A,B,1\nir_ear,Br\"aun,B,2\n",
		wantErr: []string{"3 csv"},
	},
	{
		name:    "bare quote in the header",
		in:      "ty\"pe,manufacturer,model,serial\nir_ear,A,B,1\n",
		wantErr: []string{"1 csv"},
	},
}

func TestParseThermometersCSV(t *testing.T) {
	for _, tt := range thermometerCSVCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := devices.ParseThermometersCSV(strings.NewReader(tt.in))
			if diff := cmp.Diff(tt.wantErr, errKeys(t, err)); diff != "" {
				t.Fatalf("ParseThermometersCSV(%q) error = %v; (-want +got):\n%s", tt.in, err, diff)
			}
			if err != nil {
				if got != nil {
					t.Errorf("rows = %v with an error, want nil", got)
				}
				var ve *devices.ValidationError
				errors.As(err, &ve)
				if tt.wantReason != "" && !strings.Contains(ve.Fields[0].Reason, tt.wantReason) {
					t.Errorf("reason = %q, want it to contain %q", ve.Fields[0].Reason, tt.wantReason)
				}
				return
			}
			if diff := cmp.Diff(tt.want, rowsOf(t, got)); diff != "" {
				t.Errorf("ParseThermometersCSV(%q) (-want +got):\n%s", tt.in, diff)
			}
			for _, r := range got {
				if lc := r.Value.LastCalibratedAt; lc != nil && lc.Location() != time.UTC {
					t.Errorf("line %d: LastCalibratedAt in %v, want UTC", r.Line, lc.Location())
				}
			}
		})
	}
}

const elHeader = "registration_code,manufacturer"

var elAllHeader = strings.Join(devices.ElevatorColumns, ",")

type elevatorCSVCase struct {
	name    string
	in      string
	want    []wantRow[devices.Elevator]
	wantErr []string
}

// elevatorCSVCases also seed FuzzParseElevatorsCSV.
var elevatorCSVCases = []elevatorCSVCase{
	{
		name: "minimal",
		in:   elHeader + "\nDT-1,Otis\n",
		want: []wantRow[devices.Elevator]{{Line: 2, Value: devices.Elevator{RegistrationCode: "DT-1", Manufacturer: "Otis"}}},
	},
	{
		name: "every column",
		in:   elAllHeader + "\n dt-1 ,Otis,Gen2,2019-06-30," + testUUID + ",under_repair\n",
		want: []wantRow[devices.Elevator]{{Line: 2, Value: devices.Elevator{RegistrationCode: "dt-1", Manufacturer: "Otis",
			Model: "Gen2", CommissioningDate: ptr(time.Date(2019, 6, 30, 0, 0, 0, 0, time.UTC)),
			MaintenanceFirmID: ptr(testUUID), Status: devices.ElevatorUnderRepair}}},
	},
	{
		name: "BOM, case and export-only id",
		in:   "\ufeffRegistration_Code,MANUFACTURER,id\nDT-1,Otis,x\n",
		want: []wantRow[devices.Elevator]{{Line: 2, Value: devices.Elevator{RegistrationCode: "DT-1", Manufacturer: "Otis"}}},
	},
	{
		name: "quoted header with BOM",
		in:   "\ufeff\"registration_code\",\"manufacturer\"\n\"DT-1\",\"Otis\"\n",
		want: []wantRow[devices.Elevator]{{Line: 2, Value: devices.Elevator{RegistrationCode: "DT-1", Manufacturer: "Otis"}}},
	},
	{
		name: "bad dates keep their line",
		in: elHeader + ",commissioning_date\n" +
			"DT-1,Otis,2019-6-30\n" +
			"\n" +
			"DT-2,Otis,2019-06-30T00:00:00Z\n" +
			"DT-3,Otis,\n",
		want: []wantRow[devices.Elevator]{
			{Line: 2, Value: devices.Elevator{RegistrationCode: "DT-1", Manufacturer: "Otis"}, Problems: []string{"2 commissioning_date"}},
			{Line: 4, Value: devices.Elevator{RegistrationCode: "DT-2", Manufacturer: "Otis"}, Problems: []string{"4 commissioning_date"}},
			{Line: 5, Value: devices.Elevator{RegistrationCode: "DT-3", Manufacturer: "Otis"}},
		},
	},
	{
		name: "quoted newline and wrong cell count",
		in:   elHeader + ",model\nDT-1,\"Otis\nElevator\",Gen2\nDT-2,Otis\nDT-3,Kone,X\n",
		want: []wantRow[devices.Elevator]{
			{Line: 2, Value: devices.Elevator{RegistrationCode: "DT-1", Manufacturer: "Otis\nElevator", Model: "Gen2"}},
			{Line: 4, Problems: []string{"4 csv"}},
			{Line: 5, Value: devices.Elevator{RegistrationCode: "DT-3", Manufacturer: "Kone", Model: "X"}},
		},
	},
	{name: "empty file", in: "", wantErr: []string{"0 csv"}},
	{name: "header only", in: elHeader + "\r\n", wantErr: []string{"0 csv"}},
	{name: "missing required column", in: "registration_code,model\nDT-1,X\n", wantErr: []string{"1 manufacturer"}},
	{name: "thermometer column is unknown here", in: elHeader + ",serial\nDT-1,Otis,1\n", wantErr: []string{"1 serial"}},
	{name: "duplicate column", in: elHeader + ",Manufacturer\nDT-1,Otis,Otis\n", wantErr: []string{"1 manufacturer"}},
	{name: "unterminated quote", in: elHeader + "\nDT-1,\"Otis\n", wantErr: []string{"2 csv"}},
}

func TestParseElevatorsCSV(t *testing.T) {
	for _, tt := range elevatorCSVCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := devices.ParseElevatorsCSV(strings.NewReader(tt.in))
			if diff := cmp.Diff(tt.wantErr, errKeys(t, err)); diff != "" {
				t.Fatalf("ParseElevatorsCSV(%q) error = %v; (-want +got):\n%s", tt.in, err, diff)
			}
			if err != nil {
				if got != nil {
					t.Errorf("rows = %v with an error, want nil", got)
				}
				return
			}
			if diff := cmp.Diff(tt.want, rowsOf(t, got)); diff != "" {
				t.Errorf("ParseElevatorsCSV(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseCSVRowLimit(t *testing.T) {
	build := func(n int) string {
		var b strings.Builder
		b.WriteString(elHeader + "\n")
		for i := range n {
			fmt.Fprintf(&b, "DT-%d,Otis\n", i)
		}
		return b.String()
	}
	rows, err := devices.ParseElevatorsCSV(strings.NewReader(build(devices.MaxImportRows)))
	if err != nil {
		t.Fatalf("%d rows: %v, want no error", devices.MaxImportRows, err)
	}
	if len(rows) != devices.MaxImportRows || rows[len(rows)-1].Line != devices.MaxImportRows+1 {
		t.Errorf("%d rows: got %d rows, last line %d", devices.MaxImportRows, len(rows), rows[len(rows)-1].Line)
	}
	_, err = devices.ParseElevatorsCSV(strings.NewReader(build(devices.MaxImportRows + 1)))
	if diff := cmp.Diff([]string{"0 csv"}, errKeys(t, err)); diff != "" {
		t.Errorf("%d rows: error %v (-want +got):\n%s", devices.MaxImportRows+1, err, diff)
	}
}

// importColumns is the part of a thermometer a CSV import carries.
func importColumns(t devices.Thermometer) devices.Thermometer {
	return devices.Thermometer{Type: t.Type, Manufacturer: t.Manufacturer, Model: t.Model, Serial: t.Serial,
		LocationNote: t.LocationNote, RangeMinC: t.RangeMinC, RangeMaxC: t.RangeMaxC, ToleranceProfile: t.ToleranceProfile,
		MPEOverrideC: t.MPEOverrideC, MPEOverrideReason: t.MPEOverrideReason, Modes: t.Modes, InstituteID: t.InstituteID,
		Status: t.Status, IntervalDays: t.IntervalDays, LastCalibratedAt: t.LastCalibratedAt}
}

func TestThermometerCSVRoundTrip(t *testing.T) {
	in := []devices.Thermometer{
		{
			ID: "id-1", Type: devices.TypeIREar, Manufacturer: "Braun", Model: "IRT6520", Serial: "SN-1",
			LocationNote: "gate 3, level 2\nby the \"red\" door", RangeMinC: 34.5, RangeMaxC: 42.25,
			ToleranceProfile: "jjg1164_ear", MPEC: 0.3, MPEOverrideC: ptr(0.3), MPEOverrideReason: "lab, report 12",
			Modes: []devices.ReadingMode{devices.ModeBody, devices.ModeCalibration}, InstituteID: ptr(testUUID),
			Status: devices.StatusQuarantined, IntervalDays: 180,
			LastCalibratedAt: ptr(mustTime(t, "2025-06-01T16:30:05+08:00")),
			NextDueAt:        mustTime(t, "2025-11-28T08:30:05Z"),
		},
		{
			ID: "id-2", Type: devices.TypeMedicalContact, Manufacturer: "Omron", Model: "MC-246", Serial: "0042",
			RangeMinC: 35.5, RangeMaxC: 42, ToleranceProfile: "jjg1162_contact", MPEC: 0.1,
			Modes: []devices.ReadingMode{devices.ModeBody}, Status: devices.StatusInService, IntervalDays: 365,
			NextDueAt: mustTime(t, "2026-03-01T09:00:00Z"),
		},
		{
			ID: "id-3", Type: devices.TypeIRScreening, Manufacturer: "Hikvision", Model: "DS-2TD", Serial: "线阵-7",
			RangeMinC: -20.125, RangeMaxC: 150, ToleranceProfile: "jjf1107_screening",
			Modes: []devices.ReadingMode{devices.ModeCalibration}, Status: devices.StatusOutOfTolerance, IntervalDays: 1,
			LastCalibratedAt: ptr(mustTime(t, "2026-02-28T23:59:59Z")),
		},
	}
	var buf bytes.Buffer
	w, err := devices.NewThermometerCSVWriter(&buf)
	if err != nil {
		t.Fatalf("NewThermometerCSVWriter: %v", err)
	}
	for _, x := range in {
		if err := w.Write(x); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}

	header, _, _ := strings.Cut(buf.String(), "\n")
	if want := thAllHeader + ",id,next_due_at"; header != want {
		t.Errorf("header = %q, want %q", header, want)
	}
	if !strings.Contains(buf.String(), ",id-1,2025-11-28T08:30:05Z\n") {
		t.Errorf("export lacks id and next_due_at of the first row:\n%s", buf.String())
	}

	got, err := devices.ParseThermometersCSV(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("ParseThermometersCSV(export) = %v\n%s", err, buf.String())
	}
	want := []wantRow[devices.Thermometer]{
		{Line: 2, Value: importColumns(in[0])},
		{Line: 4, Value: importColumns(in[1])}, // the first row's note spans two lines
		{Line: 5, Value: importColumns(in[2])},
	}
	if diff := cmp.Diff(want, rowsOf(t, got)); diff != "" {
		t.Errorf("round trip (-want +got):\n%s\nexport:\n%s", diff, buf.String())
	}
}

func TestElevatorCSVRoundTrip(t *testing.T) {
	in := []devices.Elevator{
		{ID: "el-1", RegistrationCode: "31103101002019060001", Manufacturer: "Schindler", Model: "3300",
			CommissioningDate: ptr(time.Date(2019, 6, 30, 0, 0, 0, 0, time.UTC)), MaintenanceFirmID: ptr(testUUID),
			Status: devices.ElevatorInService},
		{ID: "el-2", RegistrationCode: "DT/2", Manufacturer: "Otis, Inc.", Status: devices.ElevatorUnderRepair},
	}
	var buf bytes.Buffer
	w, err := devices.NewElevatorCSVWriter(&buf)
	if err != nil {
		t.Fatalf("NewElevatorCSVWriter: %v", err)
	}
	for _, e := range in {
		if err := w.Write(e); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if header, _, _ := strings.Cut(buf.String(), "\n"); header != elAllHeader+",id" {
		t.Errorf("header = %q", header)
	}
	got, err := devices.ParseElevatorsCSV(&buf)
	if err != nil {
		t.Fatalf("ParseElevatorsCSV(export) = %v", err)
	}
	want := make([]wantRow[devices.Elevator], len(in))
	for i, e := range in {
		e.ID = ""
		want[i] = wantRow[devices.Elevator]{Line: i + 2, Value: e}
	}
	if diff := cmp.Diff(want, rowsOf(t, got)); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// TestParsedRowsResolve checks that a parsed import row resolves like a
// hand-built thermometer, so line numbers and values flow to the store.
func TestParsedRowsResolve(t *testing.T) {
	in := thHeader + ",last_calibrated_at,calibration_interval_days\nir_ear,Braun,IRT6520,SN1,2025-03-01,30\n"
	rows, err := devices.ParseThermometersCSV(strings.NewReader(in))
	if err != nil || len(rows) != 1 || rows[0].Problems != nil {
		t.Fatalf("ParseThermometersCSV = %+v, %v", rows, err)
	}
	v := rows[0].Value
	if err := v.Resolve(earProfile, mustTime(t, "2026-03-01T09:00:00Z")); err != nil {
		t.Fatalf("Resolve() = %v", err)
	}
	if want := mustTime(t, "2025-03-31T00:00:00Z"); !v.NextDueAt.Equal(want) {
		t.Errorf("NextDueAt = %v, want %v", v.NextDueAt, want)
	}
}
