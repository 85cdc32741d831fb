package devices

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxImportRows bounds one CSV import; larger registries import in parts.
const MaxImportRows = 50000

// ImportRow is one parsed CSV row: Line is its line in the file (the
// header is line 1), Problems what could not be parsed.
type ImportRow[T any] struct {
	Line     int
	Value    T
	Problems []FieldError
}

// ThermometerColumns are the CSV columns of a thermometer import, in
// export order. Export appends the read-only ExportOnlyColumns.
var ThermometerColumns = []string{"type", "manufacturer", "model", "serial", "location_note",
	"range_min_c", "range_max_c", "tolerance_profile", "mpe_override_c", "mpe_override_reason",
	"modes", "institute_id", "status", "calibration_interval_days", "last_calibrated_at"}

// ElevatorColumns are the CSV columns of an elevator import.
var ElevatorColumns = []string{"registration_code", "manufacturer", "model", "commissioning_date",
	"maintenance_firm_id", "status"}

// ExportOnlyColumns are written by export and ignored by import, so an
// exported file can be edited and imported elsewhere.
var ExportOnlyColumns = []string{"id", "next_due_at"}

var requiredThermometerColumns = []string{"type", "manufacturer", "model", "serial"}
var requiredElevatorColumns = []string{"registration_code", "manufacturer"}

// csvTable reads a CSV file with a header into maps of column -> cell.
type csvTable struct {
	header []string
	rows   [][]string
	lines  []int
}

func readCSV(r io.Reader, known, required []string) (*csvTable, error) {
	// Drop a UTF-8 byte order mark before encoding/csv sees it: left in,
	// it makes a quoted first header cell a syntax error.
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, Invalid("csv", "the file is empty; the first line must name the columns")
	}
	if err != nil {
		return nil, csvSyntax(err)
	}
	var p Problems
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		header[i] = h
		switch {
		case seen[h]:
			p.list = append(p.list, FieldError{Row: 1, Field: h, Reason: "column appears twice"})
		case !slices.Contains(known, h) && !slices.Contains(ExportOnlyColumns, h):
			p.list = append(p.list, FieldError{Row: 1, Field: h, Reason: "unknown column; known: " + strings.Join(known, ", ")})
		}
		seen[h] = true
	}
	for _, c := range required {
		if !seen[c] {
			p.list = append(p.list, FieldError{Row: 1, Field: c, Reason: "required column is missing"})
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	t := &csvTable{header: header}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvSyntax(err)
		}
		line, _ := cr.FieldPos(0)
		if blankRecord(rec) {
			continue // a blank line, or a spreadsheet's trailing row of empty cells
		}
		if len(t.rows) == MaxImportRows {
			return nil, Invalid("csv", fmt.Sprintf("more than %d rows; import in parts", MaxImportRows))
		}
		t.rows = append(t.rows, rec)
		t.lines = append(t.lines, line)
	}
	if len(t.rows) == 0 {
		return nil, Invalid("csv", "no data rows after the header")
	}
	return t, nil
}

func blankRecord(rec []string) bool {
	for _, cell := range rec {
		if strings.TrimSpace(cell) != "" {
			return false
		}
	}
	return true
}

func csvSyntax(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ValidationError{Fields: []FieldError{{Row: pe.Line, Field: "csv", Reason: pe.Err.Error()}}}
	}
	return Invalid("csv", err.Error())
}

// cells maps one record to its columns, noting a wrong cell count.
func (t *csvTable) cells(i int) (map[string]string, []FieldError) {
	rec := t.rows[i]
	if len(rec) != len(t.header) {
		return nil, []FieldError{{Row: t.lines[i], Field: "csv", Reason: fmt.Sprintf("has %d cells, the header has %d", len(rec), len(t.header))}}
	}
	m := make(map[string]string, len(rec))
	for j, h := range t.header {
		m[h] = strings.TrimSpace(rec[j])
	}
	return m, nil
}

type cellParser struct {
	line  int
	probs []FieldError
}

func (c *cellParser) bad(col, reason string) {
	c.probs = append(c.probs, FieldError{Row: c.line, Field: col, Reason: reason})
}

func (c *cellParser) float(m map[string]string, col string) *float64 {
	s := m[col]
	if s == "" {
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		c.bad(col, "must be a number such as 35.0")
		return nil
	}
	return &v
}

func (c *cellParser) int(m map[string]string, col string) int {
	s := m[col]
	if s == "" {
		return 0
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		c.bad(col, "must be a whole number")
		return 0
	}
	return v
}

func (c *cellParser) optString(m map[string]string, col string) *string {
	if s := m[col]; s != "" {
		return &s
	}
	return nil
}

func (c *cellParser) time(m map[string]string, col string) *time.Time {
	s := m[col]
	if s == "" {
		return nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		t = t.UTC()
		return &t
	}
	if t, err := time.Parse(DateLayout, s); err == nil {
		return &t
	}
	c.bad(col, "must be an RFC 3339 time such as 2026-03-01T09:00:00Z or a date such as 2026-03-01")
	return nil
}

func (c *cellParser) date(m map[string]string, col string) *time.Time {
	s := m[col]
	if s == "" {
		return nil
	}
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		c.bad(col, "must be a date such as 2019-06-30")
		return nil
	}
	return &t
}

// ParseThermometersCSV reads a thermometer import. A malformed file or
// header is a *ValidationError; cell-level problems stay on their rows so
// the store can report them together with its own checks.
func ParseThermometersCSV(r io.Reader) ([]ImportRow[Thermometer], error) {
	t, err := readCSV(r, ThermometerColumns, requiredThermometerColumns)
	if err != nil {
		return nil, err
	}
	out := make([]ImportRow[Thermometer], len(t.rows))
	for i := range t.rows {
		m, probs := t.cells(i)
		out[i] = ImportRow[Thermometer]{Line: t.lines[i], Problems: probs}
		if m == nil {
			continue
		}
		c := cellParser{line: t.lines[i]}
		th := Thermometer{Type: ThermometerType(m["type"]), Manufacturer: m["manufacturer"], Model: m["model"],
			Serial: m["serial"], LocationNote: m["location_note"], ToleranceProfile: m["tolerance_profile"],
			MPEOverrideReason: m["mpe_override_reason"], Status: ThermometerStatus(m["status"])}
		if v := c.float(m, "range_min_c"); v != nil {
			th.RangeMinC = *v
		}
		if v := c.float(m, "range_max_c"); v != nil {
			th.RangeMaxC = *v
		}
		th.MPEOverrideC = c.float(m, "mpe_override_c")
		if s := m["modes"]; s != "" {
			for _, x := range strings.Split(s, ";") {
				th.Modes = append(th.Modes, ReadingMode(strings.TrimSpace(x)))
			}
		}
		th.InstituteID = c.optString(m, "institute_id")
		th.IntervalDays = c.int(m, "calibration_interval_days")
		th.LastCalibratedAt = c.time(m, "last_calibrated_at")
		out[i].Value = th
		out[i].Problems = append(out[i].Problems, c.probs...)
	}
	return out, nil
}

// ParseElevatorsCSV reads an elevator import, like ParseThermometersCSV.
func ParseElevatorsCSV(r io.Reader) ([]ImportRow[Elevator], error) {
	t, err := readCSV(r, ElevatorColumns, requiredElevatorColumns)
	if err != nil {
		return nil, err
	}
	out := make([]ImportRow[Elevator], len(t.rows))
	for i := range t.rows {
		m, probs := t.cells(i)
		out[i] = ImportRow[Elevator]{Line: t.lines[i], Problems: probs}
		if m == nil {
			continue
		}
		c := cellParser{line: t.lines[i]}
		e := Elevator{RegistrationCode: m["registration_code"], Manufacturer: m["manufacturer"], Model: m["model"],
			Status: ElevatorStatus(m["status"])}
		e.CommissioningDate = c.date(m, "commissioning_date")
		e.MaintenanceFirmID = c.optString(m, "maintenance_firm_id")
		out[i].Value = e
		out[i].Problems = append(out[i].Problems, c.probs...)
	}
	return out, nil
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func optCell(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ThermometerCSVWriter writes thermometers in the import columns plus the
// read-only ones.
type ThermometerCSVWriter struct{ w *csv.Writer }

// NewThermometerCSVWriter writes the header.
func NewThermometerCSVWriter(w io.Writer) (*ThermometerCSVWriter, error) {
	cw := csv.NewWriter(w)
	err := cw.Write(append(slices.Clone(ThermometerColumns), ExportOnlyColumns...))
	return &ThermometerCSVWriter{w: cw}, err
}

// Write writes one thermometer.
func (x *ThermometerCSVWriter) Write(t Thermometer) error {
	modes := make([]string, len(t.Modes))
	for i, m := range t.Modes {
		modes[i] = string(m)
	}
	mpe, last := "", ""
	if t.MPEOverrideC != nil {
		mpe = fmtFloat(*t.MPEOverrideC)
	}
	if t.LastCalibratedAt != nil {
		last = t.LastCalibratedAt.UTC().Format(time.RFC3339)
	}
	return x.w.Write([]string{string(t.Type), t.Manufacturer, t.Model, t.Serial, t.LocationNote,
		fmtFloat(t.RangeMinC), fmtFloat(t.RangeMaxC), t.ToleranceProfile, mpe, t.MPEOverrideReason,
		strings.Join(modes, ";"), optCell(t.InstituteID), string(t.Status), strconv.Itoa(t.IntervalDays), last,
		t.ID, t.NextDueAt.UTC().Format(time.RFC3339)})
}

// Flush flushes and reports any write error.
func (x *ThermometerCSVWriter) Flush() error { x.w.Flush(); return x.w.Error() }

// ElevatorCSVWriter writes elevators in the import columns plus id.
type ElevatorCSVWriter struct{ w *csv.Writer }

// NewElevatorCSVWriter writes the header.
func NewElevatorCSVWriter(w io.Writer) (*ElevatorCSVWriter, error) {
	cw := csv.NewWriter(w)
	err := cw.Write(append(slices.Clone(ElevatorColumns), "id"))
	return &ElevatorCSVWriter{w: cw}, err
}

// Write writes one elevator.
func (x *ElevatorCSVWriter) Write(e Elevator) error {
	cd := ""
	if e.CommissioningDate != nil {
		cd = e.CommissioningDate.Format(DateLayout)
	}
	return x.w.Write([]string{e.RegistrationCode, e.Manufacturer, e.Model, cd, optCell(e.MaintenanceFirmID),
		string(e.Status), e.ID})
}

// Flush flushes and reports any write error.
func (x *ElevatorCSVWriter) Flush() error { x.w.Flush(); return x.w.Error() }
