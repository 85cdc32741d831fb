package devices

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"
)

// The ingest writes every thermometer's DriftState once per batch, so the
// state has a compact form of its own: "b1:" and the base64 of its fields
// in fixed binary (104 bytes, 142 characters; the JSON document was about
// 330). Formatting and parsing a dozen floats as JSON text was a tenth of
// the ingest's CPU, and the longer row meant more WAL per check
// (docs/BENCHMARKS.md). The compact form is exact: floats by their bits,
// times by seconds and nanoseconds. A state stored as JSON by an earlier
// version (or "{}" for a fresh one) still reads, through encoding/json.

const driftStatePrefix = "b1:"

const driftStateBytes = 8 + 3*8 + 12 + 5*8 + 12 + 8

// AppendDriftState appends the state's compact form to b.
func AppendDriftState(b []byte, s DriftState) []byte {
	var raw [driftStateBytes]byte
	p := raw[:0]
	p = binary.LittleEndian.AppendUint64(p, uint64(int64(s.N)))
	for _, f := range [...]float64{s.EWMA, s.CUSUMHigh, s.CUSUMLow} {
		p = binary.LittleEndian.AppendUint64(p, math.Float64bits(f))
	}
	p = appendStateTime(p, s.Origin)
	for _, f := range [...]float64{s.SumT, s.SumT2, s.SumE, s.SumTE, s.SumE2} {
		p = binary.LittleEndian.AppendUint64(p, math.Float64bits(f))
	}
	p = appendStateTime(p, s.LastAt)
	p = binary.LittleEndian.AppendUint64(p, uint64(s.LastSeq))
	b = append(b, driftStatePrefix...)
	return base64.RawStdEncoding.AppendEncode(b, p)
}

// zeroStateTime stands for time.Time{} (a fresh state's times), which
// would otherwise read back as a UTC time of year 1 rather than the zero
// value.
const zeroStateTime = math.MinInt64

// appendStateTime writes t as Unix seconds and nanoseconds.
func appendStateTime(p []byte, t time.Time) []byte {
	sec := t.Unix()
	if t.IsZero() {
		sec = zeroStateTime
	}
	p = binary.LittleEndian.AppendUint64(p, uint64(sec))
	return binary.LittleEndian.AppendUint32(p, uint32(t.Nanosecond()))
}

func readStateTime(p []byte) time.Time {
	sec, nsec := int64(binary.LittleEndian.Uint64(p)), binary.LittleEndian.Uint32(p[8:])
	if sec == zeroStateTime {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

var errDriftState = errors.New("drift state: not a compact state of this version")

// DecodeDriftState reads a state AppendDriftState wrote, or any JSON
// encoding/json reads as a DriftState ("{}" is a fresh state).
func DecodeDriftState(b []byte) (DriftState, error) {
	var s DriftState
	if !strings.HasPrefix(string(b), driftStatePrefix) {
		err := json.Unmarshal(b, &s)
		return s, err
	}
	var raw [driftStateBytes + 3]byte // DecodedLen rounds up
	enc := b[len(driftStatePrefix):]
	if base64.RawStdEncoding.DecodedLen(len(enc)) != driftStateBytes {
		return s, errDriftState
	}
	n, err := base64.RawStdEncoding.Decode(raw[:], enc)
	if err != nil || n != driftStateBytes {
		return s, errDriftState
	}
	p := raw[:n]
	u := func() uint64 { v := binary.LittleEndian.Uint64(p); p = p[8:]; return v }
	f := func() float64 { return math.Float64frombits(u()) }
	at := func() time.Time { t := readStateTime(p); p = p[12:]; return t }
	s.N = int(int64(u()))
	s.EWMA, s.CUSUMHigh, s.CUSUMLow = f(), f(), f()
	s.Origin = at()
	s.SumT, s.SumT2, s.SumE, s.SumTE, s.SumE2 = f(), f(), f(), f(), f()
	s.LastAt = at()
	s.LastSeq = int64(u())
	return s, nil
}
