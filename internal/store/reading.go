package store

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/devices"
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
	q := s.db.WithContext(ctx)
	for chunk := range slices.Chunk(ids, 1000) {
		var ths []struct {
			ID                   string
			Status               string
			RangeMinC, RangeMaxC float64
		}
		if err := q.Table("thermometers").Select("id, status, range_min_c, range_max_c").Where("id IN ?", chunk).
			Find(&ths).Error; err != nil {
			return nil, err
		}
		for _, t := range ths {
			out[t.ID] = devices.IngestDevice{ID: t.ID, Kind: devices.DeviceThermometer, Retired: t.Status == string(devices.StatusRetired),
				RangeMinC: t.RangeMinC, RangeMaxC: t.RangeMaxC}
		}
		var els []struct{ ID, Status string }
		if err := q.Table("elevators").Select("id, status").Where("id IN ?", chunk).Find(&els).Error; err != nil {
			return nil, err
		}
		for _, e := range els {
			out[e.ID] = devices.IngestDevice{ID: e.ID, Kind: devices.DeviceElevator, Retired: e.Status == string(devices.ElevatorRetired)}
		}
	}
	return out, nil
}

// SaveMessages implements devices.ReadingStore: multi-row INSERT ... ON
// CONFLICT DO NOTHING on (device_id, seq), in one transaction.
func (s *Store) SaveMessages(ctx context.Context, msgs []devices.Message, received time.Time) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	rows := make([]readingRow, 0, len(msgs))
	for _, m := range msgs {
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
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, s.insertBatch())
		n = int(res.RowsAffected)
		return res.Error
	})
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
		rows[i] = deadLetterRow{Topic: clip(l.Topic, 512), Reason: clip(l.Reason, 64), Detail: clip(l.Detail, 1000),
			Payload: append([]byte{}, p...), ReceivedAt: l.Received.UTC()}
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
