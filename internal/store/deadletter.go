package store

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
)

// deadLetterScope limits dead letters to those whose topic names a device
// the actor sees (the same rules as thermometerScope and elevatorScope); the
// regulator sees every one, with those that name no device or an unknown
// one.
func deadLetterScope(a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		switch a.OrgKind {
		case devices.KindRegulator:
			return q
		case devices.KindVenueOperator:
			return q.Where("(dead_letters.device_id IN (SELECT id FROM thermometers WHERE operator_org_id = ?)"+
				" OR dead_letters.device_id IN (SELECT id FROM elevators WHERE operator_org_id = ?))", a.OrgID, a.OrgID)
		case devices.KindMetrologyInstitute:
			return q.Where("dead_letters.device_id IN (SELECT id FROM thermometers WHERE institute_id = ?)", a.OrgID)
		case devices.KindMaintenanceFirm:
			return q.Where("dead_letters.device_id IN (SELECT id FROM elevators WHERE maintenance_firm_id = ?)", a.OrgID)
		}
		return q.Where("1 = 0")
	}
}

// ListDeadLetters implements devices.DeadLetterHistory.
func (s *Store) ListDeadLetters(ctx context.Context, a devices.Actor, f devices.DeadLetterFilter, p devices.Page) ([]devices.DeadLetter, string, error) {
	q := s.db.WithContext(ctx).Model(&deadLetterRow{}).Scopes(deadLetterScope(a))
	if f.DeviceID != "" {
		if !devices.IsUUID(f.DeviceID) {
			return nil, "", nil // names no device: nothing to list
		}
		q = q.Where("dead_letters.device_id = ?", strings.ToLower(f.DeviceID))
	}
	return s.pageDeadLetters(q, f, p)
}

// DeviceDeadLetters implements devices.DeadLetterHistory.
func (s *Store) DeviceDeadLetters(ctx context.Context, a devices.Actor, deviceID string, f devices.DeadLetterFilter, p devices.Page) ([]devices.DeadLetter, string, error) {
	q := s.db.WithContext(ctx)
	d, err := s.visibleDevice(q, a, strings.ToLower(deviceID))
	if err != nil {
		return nil, "", err
	}
	return s.pageDeadLetters(q.Model(&deadLetterRow{}).Where("dead_letters.device_id = ?", d.id), f, p)
}

// pageDeadLetters pages q newest first.
func (s *Store) pageDeadLetters(q *gorm.DB, f devices.DeadLetterFilter, p devices.Page) ([]devices.DeadLetter, string, error) {
	if err := p.Normalize(); err != nil {
		return nil, "", err
	}
	if f.Reason != "" {
		q = q.Where("dead_letters.reason = ?", f.Reason)
	}
	if f.From != nil {
		q = q.Where("dead_letters.received_at >= ?", f.From.UTC())
	}
	if f.To != nil {
		q = q.Where("dead_letters.received_at < ?", f.To.UTC())
	}
	if p.Cursor != "" {
		before, err := decodeDeadLetterCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("dead_letters.id < ?", before)
	}
	var rows []deadLetterRow
	if err := q.Order("dead_letters.id DESC").Limit(p.Limit + 1).Find(&rows).Error; err != nil {
		return nil, "", translate(err, "dead letter")
	}
	next := ""
	if len(rows) > p.Limit {
		rows = rows[:p.Limit]
		next = deadLetterCursor(rows[len(rows)-1].ID)
	}
	out := make([]devices.DeadLetter, len(rows))
	for i, r := range rows {
		out[i] = devices.DeadLetter{ID: r.ID, Topic: r.Topic, Reason: r.Reason, Detail: r.Detail, Payload: r.Payload,
			Received: r.ReceivedAt.UTC()}
		if r.DeviceID != nil {
			out[i].DeviceID = strings.ToLower(*r.DeviceID)
		}
	}
	return out, next, nil
}

const deadLetterCursorPrefix = "dl."

func deadLetterCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(deadLetterCursorPrefix + strconv.FormatInt(id, 10)))
}

func decodeDeadLetterCursor(c string) (int64, error) {
	bad := devices.Invalid("cursor", "is not a cursor this API returned")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, bad
	}
	digits, ok := strings.CutPrefix(string(b), deadLetterCursorPrefix)
	id, err := strconv.ParseInt(digits, 10, 64)
	if !ok || err != nil || id <= 0 {
		return 0, bad
	}
	return id, nil
}
