package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/migrations"
)

type readingRow struct {
	DeviceID   string
	Seq        int64
	Kind       string
	TS         time.Time `gorm:"column:ts"`
	ReferenceC *float64  `gorm:"column:reference_c"`
	ValueC     *float64  `gorm:"column:value_c"`
	Mode       *string
	Metrics    *string
	Code       *string
	Severity   *string
	ReceivedAt time.Time
}

func (readingRow) TableName() string { return "readings" }

type deadLetterRow struct {
	ID         int64 `gorm:"primaryKey;autoIncrement"`
	Topic      string
	DeviceID   *string
	Reason     string
	Detail     string
	Payload    []byte
	ReceivedAt time.Time
}

func (deadLetterRow) TableName() string { return "dead_letters" }

func fromMessage(m devices.Message, received time.Time) (readingRow, error) {
	r := readingRow{DeviceID: m.DeviceID(), Seq: m.Seq(), Kind: string(m.Kind), TS: m.TS().UTC(), ReceivedAt: received.UTC()}
	switch {
	case m.Check != nil:
		ref, val, mode := m.Check.ReferenceC, m.Check.ValueC, string(m.Check.Mode)
		r.ReferenceC, r.ValueC, r.Mode = &ref, &val, &mode
	case m.Telemetry != nil:
		b, err := json.Marshal(m.Telemetry.Metrics)
		if err != nil {
			return r, err
		}
		s := string(b)
		r.Metrics = &s
	case m.Event != nil:
		code, sev := m.Event.Code, string(m.Event.Severity)
		r.Code, r.Severity = &code, &sev
	}
	return r, nil
}

// IngestDevices implements devices.ReadingStore.
func (s *Store) IngestDevices(ctx context.Context, ids []string) (map[string]devices.IngestDevice, error) {
	out := map[string]devices.IngestDevice{}
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !devices.IsUUID(id) })
	if len(ids) == 0 {
		return out, nil
	}
	var conn *sql.Conn
	if s.dialect == migrations.Postgres {
		c, err := s.sqlDB.Conn(ctx)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		conn = c
	}
	const cols = "id, 'thermometer', status, range_min_c, range_max_c FROM thermometers"
	const liftCols = "id, 'elevator', status, 0, 0 FROM elevators"
	err := eachRowByID(ctx, s.db, conn, ids,
		"SELECT "+cols+" WHERE id = ANY($1) UNION ALL SELECT "+liftCols+" WHERE id = ANY($1)",
		"SELECT "+cols+" WHERE id IN ? UNION ALL SELECT "+liftCols+" WHERE id IN ?",
		func(rows rowScanner) error {
			var d devices.IngestDevice
			var status string
			if err := rows.Scan(&d.ID, &d.Kind, &status, &d.RangeMinC, &d.RangeMaxC); err != nil {
				return err
			}
			if d.Kind == devices.DeviceElevator {
				d.Retired = status == string(devices.ElevatorRetired)
			} else {
				d.Retired = status == string(devices.StatusRetired)
			}
			out[d.ID] = d
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SaveMessages implements devices.ReadingStore: the batch is written with
// COPY on PostgreSQL and multi-row INSERT on SQLite, skipping a (device,
// seq) stored already, and the detectors and alerts are brought up to date
// in the same transaction.
func (s *Store) SaveMessages(ctx context.Context, msgs []devices.Message, received time.Time) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	// The database keeps microseconds; the lift passes tell this batch's
	// rows from a redelivery's by their received_at.
	received = received.UTC().Truncate(time.Microsecond)
	rows := make([]readingRow, 0, len(msgs))
	var faulted [][]any // (device id, seq) of critical fault events
	var telemetry []*devices.Telemetry
	for _, m := range msgs {
		if m.Telemetry != nil {
			telemetry = append(telemetry, m.Telemetry)
		}
		if m.Event != nil && devices.CriticalLiftEvent(m.Event.Code, m.Event.Severity) {
			faulted = append(faulted, []any{m.Event.DeviceID, m.Event.Seq})
		}
		r, err := fromMessage(m, received)
		if err != nil {
			return 0, err
		}
		rows = append(rows, r)
	}
	// Rows go in key order so that concurrent batches sharing keys wait
	// for each other rather than deadlock.
	slices.SortFunc(rows, func(a, b readingRow) int {
		if c := strings.Compare(a.DeviceID, b.DeviceID); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	n := 0
	direct := true
	var cached []cachedDrift // the drift states written, remembered once committed
	save := func(tx *gorm.DB, conn *sql.Conn) error {
		stored, err := s.insertReadings(tx, conn, rows, direct)
		if err != nil {
			return err
		}
		n = len(stored)
		// Only the checks this batch stored feed the detectors: a
		// redelivered one was applied by the batch that stored it.
		if cached, err = s.updateDrift(tx, conn, stored); err != nil {
			return err
		}
		if err := s.liftFaults(tx, faulted, received); err != nil {
			return err
		}
		if err := s.liftThresholds(tx, telemetry, received); err != nil {
			return err
		}
		senders := make([]string, 0, len(rows))
		for _, r := range rows {
			senders = append(senders, r.DeviceID)
		}
		return s.endSilence(tx, conn, slices.Compact(senders), s.now())
	}
	err := s.ingestTx(ctx, save)
	if errors.Is(err, errCopyConflict) {
		direct = false // a redelivery in the batch: stage it and skip what is stored
		err = s.ingestTx(ctx, save)
	}
	if err == nil {
		s.driftCache.put(cached)
	}
	return n, err
}

// SaveDeadLetters implements devices.ReadingStore; the oldest letters
// beyond devices.DeadLetterLimit are dropped in the same transaction.
func (s *Store) SaveDeadLetters(ctx context.Context, letters []devices.DeadLetter) error {
	if len(letters) == 0 {
		return nil
	}
	rows := make([]deadLetterRow, len(letters))
	for i, l := range letters {
		p := l.Payload
		if len(p) > devices.DeadLetterPayloadBytes {
			p = p[:devices.DeadLetterPayloadBytes]
		}
		rows[i] = deadLetterRow{Topic: clip(l.Topic, 512), DeviceID: strPtr(devices.DeadLetterDevice(l.Topic)),
			Reason: clip(l.Reason, 64), Detail: clip(l.Detail, 1000), Payload: append([]byte{}, p...), ReceivedAt: l.Received.UTC()}
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.CreateInBatches(rows, s.insertBatch()).Error; err != nil {
			return err
		}
		var top int64
		if err := tx.Model(&deadLetterRow{}).Select("COALESCE(MAX(id), 0)").Scan(&top).Error; err != nil {
			return err
		}
		if limit := s.deadLetterLimit(); top > limit {
			return tx.Where("id <= ?", top-limit).Delete(&deadLetterRow{}).Error
		}
		return nil
	})
}

// SetDeadLetterLimit changes how many dead letters are kept (tests).
func (s *Store) SetDeadLetterLimit(n int64) { s.deadLetters.Store(n) }

func (s *Store) deadLetterLimit() int64 {
	if n := s.deadLetters.Load(); n > 0 {
		return n
	}
	return devices.DeadLetterLimit
}

// clip keeps at most n bytes of s as valid UTF-8: a text column refuses
// anything else, and a refused dead letter would stall its batch.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func (r readingRow) toReading() devices.Reading {
	out := devices.Reading{DeviceID: r.DeviceID, Seq: r.Seq, Kind: devices.MessageKind(r.Kind), TS: r.TS.UTC(),
		ReferenceC: r.ReferenceC, ValueC: r.ValueC, ReceivedAt: r.ReceivedAt.UTC()}
	if r.ReferenceC != nil && r.ValueC != nil {
		e := *r.ValueC - *r.ReferenceC
		out.ErrorC = &e
	}
	if r.Mode != nil {
		out.Mode = *r.Mode
	}
	if r.Metrics != nil {
		_ = json.Unmarshal([]byte(*r.Metrics), &out.Metrics) // written by fromMessage
	}
	if r.Code != nil {
		out.Code = *r.Code
	}
	if r.Severity != nil {
		out.Severity = *r.Severity
	}
	return out
}

// readingCursor is "<unix nanoseconds>.<seq>" of the last reading of a
// page, base64url: readings are ordered by (ts, seq).
func readingCursor(r readingRow) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(r.TS.UnixNano(), 10) + "." + strconv.FormatInt(r.Seq, 10)))
}

func decodeReadingCursor(c string) (time.Time, int64, error) {
	bad := devices.Invalid("cursor", "is not a cursor this API returned")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, 0, bad
	}
	ts, seq, ok := strings.Cut(string(b), ".")
	n, err1 := strconv.ParseInt(ts, 10, 64)
	s, err2 := strconv.ParseInt(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return time.Time{}, 0, bad
	}
	return time.Unix(0, n).UTC(), s, nil
}

// ListReadings implements devices.ReadingHistory.
func (s *Store) ListReadings(ctx context.Context, a devices.Actor, deviceID string, f devices.ReadingFilter, p devices.Page) ([]devices.Reading, string, error) {
	q := s.db.WithContext(ctx)
	d, err := s.visibleDevice(q, a, strings.ToLower(deviceID))
	if err != nil {
		return nil, "", err
	}
	if err := p.Normalize(); err != nil {
		return nil, "", err
	}
	return readingPage(q, d.id, f, p)
}

// exportPage is how many readings an export reads at a time.
const exportPage = 1000

// ExportReadings implements devices.ReadingHistory: the device's readings
// in (ts, seq) order, a keyset page at a time, so a history of any length
// streams in bounded memory.
func (s *Store) ExportReadings(ctx context.Context, a devices.Actor, deviceID string, f devices.ReadingFilter, fn func(devices.Reading) error) error {
	q := s.db.WithContext(ctx)
	d, err := s.visibleDevice(q, a, strings.ToLower(deviceID))
	if err != nil {
		return err
	}
	p := devices.Page{Limit: exportPage}
	if n := s.exportPage.Load(); n > 0 {
		p.Limit = int(n)
	}
	for {
		items, next, err := readingPage(q, d.id, f, p)
		if err != nil {
			return err
		}
		for _, r := range items {
			if err := fn(r); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		p.Cursor = next
	}
}

// readingPage is one page of a device's readings after p.Cursor, oldest
// first by (ts, seq), and the cursor of the next page ("" on the last).
func readingPage(q *gorm.DB, deviceID string, f devices.ReadingFilter, p devices.Page) ([]devices.Reading, string, error) {
	rq := q.Model(&readingRow{}).Where("device_id = ?", deviceID)
	if f.Kind != "" {
		rq = rq.Where("kind = ?", string(f.Kind))
	}
	if f.From != nil {
		rq = rq.Where("ts >= ?", f.From.UTC())
	}
	if f.To != nil {
		rq = rq.Where("ts < ?", f.To.UTC())
	}
	if p.Cursor != "" {
		ts, seq, err := decodeReadingCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		rq = rq.Where("(ts > ? OR (ts = ? AND seq > ?))", ts, ts, seq)
	}
	var rows []readingRow
	if err := rq.Order("ts, seq").Limit(p.Limit + 1).Find(&rows).Error; err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > p.Limit {
		rows = rows[:p.Limit]
		next = readingCursor(rows[len(rows)-1])
	}
	out := make([]devices.Reading, len(rows))
	for i, r := range rows {
		out[i] = r.toReading()
	}
	return out, next, nil
}

// maxBucketRows bounds the checks one downsampled answer reads.
const maxBucketRows = 500000

// CheckBuckets implements devices.ReadingHistory. Only calibration-mode
// checks count: body-mode readings are never a calibration signal
// (DOMAIN.md §1.1).
func (s *Store) CheckBuckets(ctx context.Context, a devices.Actor, deviceID string, from, to time.Time, width time.Duration) ([]devices.ReadingBucket, error) {
	q := s.db.WithContext(ctx)
	d, err := s.visibleDevice(q, a, strings.ToLower(deviceID))
	if err != nil {
		return nil, err
	}
	var p devices.Problems
	switch {
	case !to.After(from):
		p.Add("to", "must be after from")
	case width < time.Second:
		p.Add("bucket", "must be at least 1s")
	case to.Sub(from)/width > devices.MaxReadingBuckets:
		p.Addf("bucket", "makes more than %d buckets over this range; choose a wider bucket", devices.MaxReadingBuckets)
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var rows []struct {
		TS         time.Time `gorm:"column:ts"`
		ReferenceC float64   `gorm:"column:reference_c"`
		ValueC     float64   `gorm:"column:value_c"`
	}
	if err := q.Model(&readingRow{}).Select("ts, reference_c, value_c").
		Where("device_id = ? AND kind = ? AND mode = ? AND ts >= ? AND ts < ?", d.id, string(devices.MessageChecks),
			string(devices.ModeCalibration), from.UTC(), to.UTC()).
		Order("ts, seq").Limit(maxBucketRows).Find(&rows).Error; err != nil {
		return nil, err
	}
	var out []devices.ReadingBucket
	for _, r := range rows {
		start := from.UTC().Add(r.TS.UTC().Sub(from.UTC()) / width * width)
		e := r.ValueC - r.ReferenceC
		if n := len(out); n == 0 || !out[n-1].Start.Equal(start) {
			out = append(out, devices.ReadingBucket{Start: start, MinErrC: e, MaxErrC: e})
		}
		b := &out[len(out)-1]
		b.Count++
		b.AvgErrC += (e - b.AvgErrC) / float64(b.Count)
		b.MinErrC, b.MaxErrC = min(b.MinErrC, e), max(b.MaxErrC, e)
	}
	if out == nil {
		out = []devices.ReadingBucket{}
	}
	return out, nil
}
