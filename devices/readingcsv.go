package devices

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"
)

// ReadingColumns are the columns of a device's readings export: the
// message's key and times, then what its topic carries (the others of a
// row empty). error_c is value_c − reference_c; metrics is the telemetry
// as a JSON object.
var ReadingColumns = []string{"device_id", "seq", "kind", "ts", "received_at", "reference_c", "value_c", "error_c", "mode",
	"metrics", "code", "severity"}

// ReadingCSVWriter writes readings in ReadingColumns.
type ReadingCSVWriter struct{ w *csv.Writer }

// NewReadingCSVWriter writes the header.
func NewReadingCSVWriter(w io.Writer) (*ReadingCSVWriter, error) {
	cw := csv.NewWriter(w)
	return &ReadingCSVWriter{w: cw}, cw.Write(ReadingColumns)
}

// Write writes one reading.
func (x *ReadingCSVWriter) Write(r Reading) error {
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return fmtFloat(*v)
	}
	metrics := ""
	if len(r.Metrics) > 0 {
		b, err := json.Marshal(r.Metrics) // keys sorted
		if err != nil {
			return err
		}
		metrics = string(b)
	}
	return x.w.Write([]string{r.DeviceID, strconv.FormatInt(r.Seq, 10), string(r.Kind), r.TS.UTC().Format(time.RFC3339Nano),
		r.ReceivedAt.UTC().Format(time.RFC3339Nano), num(r.ReferenceC), num(r.ValueC), num(r.ErrorC), r.Mode, metrics, r.Code, r.Severity})
}

// Flush flushes and reports any write error.
func (x *ReadingCSVWriter) Flush() error { x.w.Flush(); return x.w.Error() }
