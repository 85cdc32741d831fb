package devices

import (
	"context"
	"strings"
	"time"
)

// DeadLetterPayloadBytes is how much of a refused payload a dead letter
// keeps.
const DeadLetterPayloadBytes = 256

// DeadLetter is an MQTT message the ingest acknowledged but could not
// store: its topic, why (a DecodeError reason, or "unknown_device",
// "out_of_range"), its first bytes and when it arrived. ID and DeviceID are
// set by the store: DeviceID is the device id the topic names, empty when
// it names none (DeadLetterDevice).
type DeadLetter struct {
	ID       int64
	Topic    string
	DeviceID string
	Reason   string
	Detail   string
	Payload  []byte
	Received time.Time
}

// DeadLetterDevice is the device id a topic of this contract names
// (calibd/v1/devices/{id}/...), in lower case, even when the rest of the
// topic is wrong; "" when the segment is not a UUID. The tenants who see
// that device read its dead letters.
func DeadLetterDevice(topic string) string {
	rest, ok := strings.CutPrefix(topic, TopicPrefix)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	if !IsUUID(id) {
		return ""
	}
	return strings.ToLower(id)
}

// DeadLetterFilter narrows a list of dead letters. DeviceID only narrows:
// the actor's scope still applies.
type DeadLetterFilter struct {
	DeviceID string
	Reason   string
	From, To *time.Time
}

// DeadLetterHistory reads the dead letters, newest first. A tenant sees
// those whose topic names a device it sees; the regulator sees all, with
// those of topics that name no device or an unknown one.
type DeadLetterHistory interface {
	ListDeadLetters(ctx context.Context, a Actor, f DeadLetterFilter, p Page) ([]DeadLetter, string, error)
	// DeviceDeadLetters is ListDeadLetters for one device the actor may
	// see (ErrNotFound otherwise).
	DeviceDeadLetters(ctx context.Context, a Actor, deviceID string, f DeadLetterFilter, p Page) ([]DeadLetter, string, error)
}

// IngestDevice is what the ingest needs to know of a device a message
// names: its kind, and for a thermometer the range a reading must fall in.
type IngestDevice struct {
	ID        string
	Kind      DeviceKind
	Retired   bool
	RangeMinC float64
	RangeMaxC float64
}

// ReadingStore keeps what devices send. The ingest calls it from its
// workers, a batch at a time, and acknowledges the batch's MQTT messages
// only after it returns without error.
type ReadingStore interface {
	// IngestDevices looks up the devices of a batch; ids it does not know
	// are absent from the map.
	IngestDevices(ctx context.Context, ids []string) (map[string]IngestDevice, error)
	// SaveMessages stores decoded messages in one transaction; a message
	// whose (device, seq) is stored already is skipped, so a redelivery is
	// stored once. It reports how many were new.
	SaveMessages(ctx context.Context, msgs []Message, received time.Time) (int, error)
	// SaveDeadLetters records refused messages; the table keeps only the
	// newest DeadLetterLimit of them.
	SaveDeadLetters(ctx context.Context, letters []DeadLetter) error
}

// DeadLetterLimit bounds the dead-letter table.
const DeadLetterLimit = 100000

// Reading is a stored device message as the history shows it.
type Reading struct {
	DeviceID   string
	Seq        int64
	Kind       MessageKind
	TS         time.Time
	ReferenceC *float64
	ValueC     *float64
	ErrorC     *float64 // value − reference, for checks
	Mode       string
	Metrics    map[string]float64
	Code       string
	Severity   string
	ReceivedAt time.Time
}

// ReadingBucket summarizes the checks of one time bucket for charts: how
// many, and the minimum, mean and maximum check error.
type ReadingBucket struct {
	Start                     time.Time
	Count                     int
	MinErrC, AvgErrC, MaxErrC float64
}

// ReadingFilter narrows a device's history: a kind, and a time range
// [From, To).
type ReadingFilter struct {
	Kind     MessageKind
	From, To *time.Time
}

// MaxReadingBuckets bounds one downsampled answer.
const MaxReadingBuckets = 2000

// ReadingHistory reads what a device sent.
type ReadingHistory interface {
	// ListReadings pages through a device the actor may see (ErrNotFound
	// otherwise), oldest first.
	ListReadings(ctx context.Context, a Actor, deviceID string, f ReadingFilter, p Page) ([]Reading, string, error)
	// ExportReadings calls fn with each of them, oldest first (ErrNotFound
	// before any call for a device the actor may not see); an error from
	// fn stops it.
	ExportReadings(ctx context.Context, a Actor, deviceID string, f ReadingFilter, fn func(Reading) error) error
	// CheckBuckets downsamples its calibration-mode checks into buckets of
	// the given width within [from, to).
	CheckBuckets(ctx context.Context, a Actor, deviceID string, from, to time.Time, width time.Duration) ([]ReadingBucket, error)
	// DriftReport is a thermometer's detector state and forecast
	// (ErrNotFound for a device the actor may not see, and for a lift).
	DriftReport(ctx context.Context, a Actor, thermometerID string) (DriftReport, error)
}

// DriftReport is a thermometer's drift detectors as they stand: the
// numbers it is judged by, each detector's statistic against its limit,
// and the §3.3 forecast (DOMAIN.md §3).
type DriftReport struct {
	DeviceID string
	// MPEC, UC and SigmaC are the MPE, the expanded uncertainty (k = 2)
	// and the repeatability σ, °C; ParamsSource says where σ and U came
	// from (the last passing calibration, or a configured default).
	MPEC, UC, SigmaC float64
	// Mu0C is the target error the EWMA and CUSUM aim at (the last
	// passing calibration's error near 37 °C; 0 before one): EWMAC and
	// the CUSUM sums are of e − Mu0C.
	Mu0C         float64
	ParamsSource string
	// ResetAt is the last passing calibration: checks up to then do not
	// count. Nil when the device was never calibrated.
	ResetAt *time.Time
	// N is the number of checks applied since; LastAt the newest.
	N      int
	LastAt *time.Time
	// Lambda is the EWMA weight λ the detectors use.
	Lambda float64
	// EWMAC against ±EWMALimitC, the CUSUM sums against CUSUMLimitC.
	EWMAC, EWMALimitC                  float64
	CUSUMHighC, CUSUMLowC, CUSUMLimitC float64
	Forecast                           DriftForecast
	NextDueAt                          time.Time
	// PredictedBeforeDue: the forecast would raise predicted_drift now.
	PredictedBeforeDue bool
	Replays            int
	UpdatedAt          *time.Time
}
