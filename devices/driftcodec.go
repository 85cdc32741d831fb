package devices

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// The ingest reads and writes every thermometer's DriftState once per
// batch, so the state has its own JSON codec: the same document
// encoding/json makes of it (keys in field order, times RFC 3339 with
// nanoseconds, floats in Go's shortest form), at a fraction of the cost of
// reflection. DecodeDriftState falls back to encoding/json for a document
// it did not write.

// AppendDriftState appends the state's JSON to b.
func AppendDriftState(b []byte, s DriftState) []byte {
	b = append(b, `{"n":`...)
	b = strconv.AppendInt(b, int64(s.N), 10)
	b = appendFloatField(b, `,"ewma":`, s.EWMA)
	b = appendFloatField(b, `,"cusum_high":`, s.CUSUMHigh)
	b = appendFloatField(b, `,"cusum_low":`, s.CUSUMLow)
	b = appendTimeField(b, `,"origin":`, s.Origin)
	b = appendFloatField(b, `,"sum_t":`, s.SumT)
	b = appendFloatField(b, `,"sum_t2":`, s.SumT2)
	b = appendFloatField(b, `,"sum_e":`, s.SumE)
	b = appendFloatField(b, `,"sum_te":`, s.SumTE)
	b = appendFloatField(b, `,"sum_e2":`, s.SumE2)
	b = appendTimeField(b, `,"last_at":`, s.LastAt)
	b = append(b, `,"last_seq":`...)
	b = strconv.AppendInt(b, s.LastSeq, 10)
	return append(b, '}')
}

// appendFloatField writes f as encoding/json does: shortest form, with an
// exponent only for very small or large magnitudes.
func appendFloatField(b []byte, key string, f float64) []byte {
	b = append(b, key...)
	abs := f
	if abs < 0 {
		abs = -abs
	}
	fmt := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmt = 'e'
	}
	b = strconv.AppendFloat(b, f, fmt, -1, 64)
	if fmt == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func appendTimeField(b []byte, key string, t time.Time) []byte {
	b = append(b, key...)
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// DecodeDriftState reads a state AppendDriftState wrote, or any JSON
// encoding/json reads as a DriftState ("{}" is a fresh state).
func DecodeDriftState(b []byte) (DriftState, error) {
	if s, ok := fastDecodeDriftState(b); ok {
		return s, nil
	}
	var s DriftState
	err := json.Unmarshal(b, &s)
	return s, err
}

var errDriftCodec = errors.New("not the fast form")

func fastDecodeDriftState(b []byte) (s DriftState, ok bool) {
	d := driftDecoder{b: b}
	n := d.int(`{"n":`)
	s.N = int(n)
	s.EWMA = d.float(`,"ewma":`)
	s.CUSUMHigh = d.float(`,"cusum_high":`)
	s.CUSUMLow = d.float(`,"cusum_low":`)
	s.Origin = d.time(`,"origin":`)
	s.SumT = d.float(`,"sum_t":`)
	s.SumT2 = d.float(`,"sum_t2":`)
	s.SumE = d.float(`,"sum_e":`)
	s.SumTE = d.float(`,"sum_te":`)
	s.SumE2 = d.float(`,"sum_e2":`)
	s.LastAt = d.time(`,"last_at":`)
	s.LastSeq = d.int(`,"last_seq":`)
	d.expect("}")
	return s, d.err == nil && d.i == len(d.b)
}

type driftDecoder struct {
	b   []byte
	i   int
	err error
}

func (d *driftDecoder) expect(lit string) {
	if d.err != nil {
		return
	}
	if len(d.b)-d.i < len(lit) || string(d.b[d.i:d.i+len(lit)]) != lit {
		d.err = errDriftCodec
		return
	}
	d.i += len(lit)
}

// token is the bytes up to the next ',' or '}'.
func (d *driftDecoder) token() string {
	j := d.i
	for j < len(d.b) && d.b[j] != ',' && d.b[j] != '}' {
		j++
	}
	t := string(d.b[d.i:j])
	d.i = j
	return t
}

func (d *driftDecoder) int(key string) int64 {
	d.expect(key)
	if d.err != nil {
		return 0
	}
	v, err := strconv.ParseInt(d.token(), 10, 64)
	if err != nil {
		d.err = errDriftCodec
	}
	return v
}

func (d *driftDecoder) float(key string) float64 {
	d.expect(key)
	if d.err != nil {
		return 0
	}
	v, err := strconv.ParseFloat(d.token(), 64)
	if err != nil {
		d.err = errDriftCodec
	}
	return v
}

func (d *driftDecoder) time(key string) time.Time {
	d.expect(key)
	if d.err != nil {
		return time.Time{}
	}
	tok := d.token()
	if len(tok) < 2 || tok[0] != '"' || tok[len(tok)-1] != '"' {
		d.err = errDriftCodec
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, tok[1:len(tok)-1])
	if err != nil {
		d.err = errDriftCodec
	}
	return t
}
