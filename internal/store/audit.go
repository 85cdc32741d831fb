package store

import (
	"context"
	"encoding/json"

	"github.com/calibd/calibd/devices"
)

// ListAudit implements devices.AuditStore: newest first.
func (s *Store) ListAudit(ctx context.Context, a devices.Actor, f devices.AuditFilter, p devices.Page) ([]devices.AuditEvent, string, error) {
	q := s.db.WithContext(ctx).Model(&auditRow{}).Scopes(auditScope(a))
	if f.OrgID != "" {
		q = q.Where("audit_events.org_id = ?", f.OrgID)
	}
	if f.Resource != "" {
		q = q.Where("audit_events.resource = ?", f.Resource)
	}
	if f.ResourceID != "" {
		q = q.Where("audit_events.resource_id = ?", f.ResourceID)
	}
	if f.Action != "" {
		q = q.Where("audit_events.action = ?", f.Action)
	}
	if f.Since != nil {
		q = q.Where("audit_events.at >= ?", f.Since.UTC())
	}
	if f.Until != nil {
		q = q.Where("audit_events.at < ?", f.Until.UTC())
	}
	q, err := pageQuery(q, "audit_events", &p, true)
	if err != nil {
		return nil, "", err
	}
	var rows []auditRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", translate(err, "audit events")
	}
	rows, next := cutPage(rows, p.Limit, func(r auditRow) string { return r.ID })
	out := make([]devices.AuditEvent, len(rows))
	for i, r := range rows {
		ev := devices.AuditEvent{ID: r.ID, At: r.At.UTC(), Action: r.Action, Resource: r.Resource, ResourceID: r.ResourceID}
		if r.OrgID != nil {
			ev.OrgID = *r.OrgID
		}
		if r.TokenID != nil {
			ev.TokenID = *r.TokenID
		}
		if err := json.Unmarshal([]byte(r.Changes), &ev.Changes); err != nil {
			ev.Changes = devices.Changes{"_raw": {To: r.Changes}}
		}
		out[i] = ev
	}
	return out, next, nil
}
