package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/devices"
)

type driftStateRow struct {
	DeviceID   string
	State      string
	ThroughTS  *time.Time `gorm:"column:through_ts"`
	ThroughSeq *int64
	ResetAt    *time.Time
	Replays    int
	UpdatedAt  time.Time
}

func (driftStateRow) TableName() string { return "drift_states" }

type alertRow struct {
	ID             string
	DeviceID       string
	DeviceKind     string
	VenueID        string
	OperatorOrgID  string
	InstituteID    *string
	Kind           string
	State          string
	FirstAt        time.Time
	LastAt         time.Time
	Evidence       int
	Detail         string
	ResolvedReason string
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (alertRow) TableName() string { return "alerts" }

func (r alertRow) toAlert() devices.Alert {
	return devices.Alert{ID: r.ID, DeviceID: r.DeviceID, DeviceKind: devices.DeviceKind(r.DeviceKind), VenueID: r.VenueID,
		OperatorOrgID: r.OperatorOrgID, InstituteID: r.InstituteID, Kind: devices.AlertKind(r.Kind), State: devices.AlertState(r.State),
		FirstAt: r.FirstAt.UTC(), LastAt: r.LastAt.UTC(), Evidence: r.Evidence, Detail: r.Detail, ResolvedReason: r.ResolvedReason,
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// checkPoint is a stored calibration-mode check as the detectors read it.
type checkPoint struct {
	Seq        int64
	TS         time.Time `gorm:"column:ts"`
	ReferenceC float64   `gorm:"column:reference_c"`
	ValueC     float64   `gorm:"column:value_c"`
}

// updateDrift brings the detector state of each thermometer up to date
// with its stored calibration-mode checks, in (ts, seq) order, and raises
// or grows its alerts. received is the batch that was just stored: when
// one of its checks is older than the last one applied (another replica
// committed a later one first), the state is rebuilt from every check
// since the last reset, so it depends on which checks are stored, never on
// their arrival order.
func (s *Store) updateDrift(tx *gorm.DB, thermometerIDs []string, received time.Time) error {
	slices.Sort(thermometerIDs)
	thermometerIDs = slices.Compact(thermometerIDs)
	for _, id := range thermometerIDs {
		if err := s.updateDeviceDrift(tx, id, received); err != nil {
			return fmt.Errorf("drift of %s: %w", id, err)
		}
	}
	return nil
}

func (s *Store) updateDeviceDrift(tx *gorm.DB, id string, received time.Time) error {
	var th thermometerRow
	err := tx.Where("id = ?", id).Take(&th).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil // not a thermometer: no detectors
	}
	if err != nil {
		return err
	}
	now := s.now()
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&driftStateRow{DeviceID: id, State: "{}",
		ResetAt: th.LastCalibratedAt, UpdatedAt: now}).Error; err != nil {
		return err
	}
	var row driftStateRow
	if err := s.forUpdate(tx).Where("device_id = ?", id).Take(&row).Error; err != nil {
		return err
	}
	var st devices.DriftState
	if err := json.Unmarshal([]byte(row.State), &st); err != nil {
		return fmt.Errorf("stored drift state: %w", err)
	}
	checks := func() *gorm.DB {
		return tx.Model(&readingRow{}).Where("device_id = ? AND kind = ? AND mode = ?", id, string(devices.MessageChecks),
			string(devices.ModeCalibration))
	}
	q, replay := checks(), false
	if row.ThroughTS != nil {
		var late int64
		if err := checks().Where("received_at = ? AND (ts < ? OR (ts = ? AND seq <= ?))", received, *row.ThroughTS, *row.ThroughTS,
			*row.ThroughSeq).Count(&late).Error; err != nil {
			return err
		}
		if late > 0 {
			st, row.Replays, replay = devices.DriftState{}, row.Replays+1, true
			row.ThroughTS, row.ThroughSeq = nil, nil
		} else {
			q = q.Where("(ts > ? OR (ts = ? AND seq > ?))", *row.ThroughTS, *row.ThroughTS, *row.ThroughSeq)
		}
	}
	if row.ResetAt != nil {
		q = q.Where("ts > ?", *row.ResetAt)
	}
	var pts []checkPoint
	if err := q.Select("seq, ts, reference_c, value_c").Order("ts, seq").Find(&pts).Error; err != nil {
		return err
	}
	if len(pts) == 0 {
		return nil
	}
	cfg := devices.DefaultDriftConfig()
	hits := alertHits{}
	for _, p := range pts {
		v := st.ObserveSeq(cfg, p.TS.UTC(), p.Seq, p.ValueC-p.ReferenceC, th.MPEC, devices.DefaultDriftUC, devices.DefaultDriftSigmaC)
		if v.Ignored {
			continue
		}
		e := p.ValueC - p.ReferenceC
		if v.OutOfTolerance {
			hits.add(devices.AlertOutOfTolerance, p.TS, fmt.Sprintf("check error %+.3f °C beyond the MPE ±%.2f °C", e, th.MPEC))
		}
		if v.EWMA || v.CUSUM {
			var why []string
			if v.EWMA {
				why = append(why, fmt.Sprintf("EWMA %+.3f °C beyond ±%.3f", v.Z, v.ZLimit))
			}
			if v.CUSUM {
				why = append(why, fmt.Sprintf("CUSUM C+ %.3f / C− %.3f beyond %.3f °C", v.CUSUMHigh, v.CUSUMLow, v.CUSUMLimit))
			}
			hits.add(devices.AlertDrift, p.TS, strings.Join(why, "; "))
		}
	}
	last := pts[len(pts)-1]
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := tx.Model(&driftStateRow{}).Where("device_id = ?", id).Updates(map[string]any{"state": string(b),
		"through_ts": last.TS.UTC(), "through_seq": last.Seq, "replays": row.Replays, "updated_at": now}).Error; err != nil {
		return err
	}
	for _, kind := range []devices.AlertKind{devices.AlertOutOfTolerance, devices.AlertDrift} {
		h := hits[kind]
		switch {
		case h != nil:
			if err := s.raiseAlert(tx, th, kind, *h, replay, now); err != nil {
				return err
			}
		case replay:
			// The checks in timestamp order no longer support it.
			if err := tx.Model(&alertRow{}).Where("device_id = ? AND kind = ? AND state <> ?", id, string(kind), string(devices.AlertResolved)).
				Updates(map[string]any{"state": string(devices.AlertResolved), "resolved_reason": "re-evaluated in timestamp order",
					"version": gorm.Expr("version + 1"), "updated_at": now}).Error; err != nil {
				return err
			}
		}
	}
	return nil
}

type alertHit struct {
	first, last time.Time
	count       int
	detail      string
}

type alertHits map[devices.AlertKind]*alertHit

func (m alertHits) add(kind devices.AlertKind, at time.Time, detail string) {
	h := m[kind]
	if h == nil {
		h = &alertHit{first: at}
		m[kind] = h
	}
	h.last, h.detail = at, detail
	h.count++
}

// raiseAlert grows the device's open alert of the kind, or opens one. A
// replay covers every check since the reset, so it sets the evidence
// rather than adding to it.
func (s *Store) raiseAlert(tx *gorm.DB, th thermometerRow, kind devices.AlertKind, h alertHit, replay bool, now time.Time) error {
	var open alertRow
	err := tx.Where("device_id = ? AND kind = ? AND state <> ?", th.ID, string(kind), string(devices.AlertResolved)).Take(&open).Error
	switch {
	case err == nil:
		updates := map[string]any{"last_at": h.last.UTC(), "evidence": gorm.Expr("evidence + ?", h.count), "detail": h.detail,
			"version": gorm.Expr("version + 1"), "updated_at": now}
		if replay {
			updates["evidence"], updates["first_at"] = h.count, h.first.UTC()
		}
		return tx.Model(&alertRow{}).Where("id = ?", open.ID).Updates(updates).Error
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return err
	}
	if err := tx.Create(&alertRow{ID: newID(), DeviceID: th.ID, DeviceKind: string(devices.DeviceThermometer), VenueID: th.VenueID,
		OperatorOrgID: th.OperatorOrgID, InstituteID: th.InstituteID, Kind: string(kind), State: string(devices.AlertOpen),
		FirstAt: h.first.UTC(), LastAt: h.last.UTC(), Evidence: h.count, Detail: h.detail, Version: 1, CreatedAt: now, UpdatedAt: now}).Error; err != nil {
		return err
	}
	return s.urgentCalibration(tx, th, kind, h, now)
}

// urgentCalibration is what a new out-of-tolerance or drift alert does to
// its thermometer (issue 5): an out-of-tolerance reading marks an in-service
// device out_of_tolerance (only a passing calibration clears it), and the
// device gets an urgent task in the first priority class: a recheck due
// today in its venue's zone, or, when it has work already, that work
// moved to the first class.
func (s *Store) urgentCalibration(tx *gorm.DB, th thermometerRow, kind devices.AlertKind, h alertHit, now time.Time) error {
	if kind == devices.AlertOutOfTolerance && th.Status == string(devices.StatusInService) {
		res := tx.Model(&thermometerRow{}).Where("id = ? AND status = ?", th.ID, string(devices.StatusInService)).Updates(map[string]any{
			"status": string(devices.StatusOutOfTolerance), "version": gorm.Expr("version + 1"), "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			if err := s.audit(tx, devices.SystemActor(), devices.ActionUpdate, devices.ResourceThermometer, th.ID, devices.Changes{
				"status": {From: th.Status, To: string(devices.StatusOutOfTolerance)}, "reason": {To: "alert: " + h.detail}}); err != nil {
				return err
			}
		}
	}
	why := fmt.Sprintf("%s alert: %s", kind, h.detail)
	res := tx.Model(&taskRow{}).Where("thermometer_id = ? AND state IN ? AND priority > ?", th.ID, activeTaskStates, devices.PriorityOutOfTolerance).
		Updates(map[string]any{"priority": devices.PriorityOutOfTolerance, "priority_reason": why, "version": gorm.Expr("version + 1"),
			"updated_at": now})
	if res.Error != nil {
		return res.Error
	}
	var zone string
	if err := tx.Model(&venueRow{}).Where("id = ?", th.VenueID).Pluck("time_zone", &zone).Error; err != nil {
		return err
	}
	return s.recheckAfterIndeterminate(tx, th, nil, why, now, s.zone(zone))
}

// alertScope: the regulator sees every alert, a venue operator those of
// its devices, an institute those of the thermometers assigned to it, a
// maintenance firm those of the lifts it maintains: the device's tenants.
func alertScope(a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		switch a.OrgKind {
		case devices.KindRegulator:
			return q
		case devices.KindVenueOperator:
			return q.Where("alerts.operator_org_id = ?", a.OrgID)
		case devices.KindMetrologyInstitute:
			return q.Where("alerts.institute_id = ?", a.OrgID)
		case devices.KindMaintenanceFirm:
			return q.Where("alerts.device_id IN (SELECT id FROM elevators WHERE maintenance_firm_id = ?)", a.OrgID)
		}
		return q.Where("1 = 0")
	}
}

// ListAlerts implements devices.AlertStore.
func (s *Store) ListAlerts(ctx context.Context, a devices.Actor, f devices.AlertFilter, p devices.Page) ([]devices.Alert, string, error) {
	q := s.db.WithContext(ctx).Model(&alertRow{}).Scopes(alertScope(a))
	if f.DeviceID != "" {
		q = q.Where("alerts.device_id = ?", f.DeviceID)
	}
	if f.Kind != "" {
		q = q.Where("alerts.kind = ?", string(f.Kind))
	}
	if f.State != "" {
		q = q.Where("alerts.state = ?", string(f.State))
	}
	return listRows(q, "alerts", p, func(r alertRow) string { return r.ID }, alertRow.toAlert)
}

// GetAlert implements devices.AlertStore.
func (s *Store) GetAlert(ctx context.Context, a devices.Actor, id string) (devices.Alert, error) {
	var row alertRow
	if !devices.IsUUID(id) {
		return devices.Alert{}, fmt.Errorf("alert %q: %w", id, devices.ErrNotFound)
	}
	err := s.db.WithContext(ctx).Scopes(alertScope(a)).Where("alerts.id = ?", strings.ToLower(id)).Take(&row).Error
	return row.toAlert(), translate(err, "alert")
}

// resetDrift starts the detectors afresh from a passing calibration at
// at: checks up to then no longer count, and open drift and
// out-of-tolerance alerts are resolved with the reason.
func (s *Store) resetDrift(tx *gorm.DB, id string, at time.Time, reason string, now time.Time) error {
	at = at.UTC()
	if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "device_id"}},
		DoUpdates: clause.Assignments(map[string]any{"state": "{}", "through_ts": nil, "through_seq": nil, "reset_at": at, "updated_at": now}),
	}).Create(&driftStateRow{DeviceID: id, State: "{}", ResetAt: &at, UpdatedAt: now}).Error; err != nil {
		return err
	}
	return tx.Model(&alertRow{}).Where("device_id = ? AND kind IN ? AND state <> ?", id,
		[]string{string(devices.AlertOutOfTolerance), string(devices.AlertDrift), string(devices.AlertPredictedDrift)}, string(devices.AlertResolved)).
		Updates(map[string]any{"state": string(devices.AlertResolved), "resolved_reason": reason, "version": gorm.Expr("version + 1"),
			"updated_at": now}).Error
}

// ActOnAlert implements devices.AlertStore.
func (s *Store) ActOnAlert(ctx context.Context, a devices.Actor, id string, version int, action devices.AlertAction, reason string) (devices.Alert, error) {
	var out devices.Alert
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row alertRow
		if !devices.IsUUID(id) {
			return fmt.Errorf("alert %q: %w", id, devices.ErrNotFound)
		}
		if err := s.forUpdate(tx).Scopes(alertScope(a)).Where("alerts.id = ?", strings.ToLower(id)).Take(&row).Error; err != nil {
			return translate(err, "alert")
		}
		operator := a.CanWriteRegistry() && a.OrgID == row.OperatorOrgID
		institute := a.OrgKind == devices.KindMetrologyInstitute && row.InstituteID != nil && *row.InstituteID == a.OrgID
		// The scope let a firm see only the lifts it maintains.
		firm := a.OrgKind == devices.KindMaintenanceFirm && row.DeviceKind == string(devices.DeviceElevator)
		if !operator && !institute && !firm {
			return devices.Forbidden("only the device's venue operator, its institute or its lift's firm acts on its alerts")
		}
		if version != devices.AnyVersion && version != row.Version {
			return devices.ErrPreconditionFailed
		}
		to, err := devices.AlertState(row.State).Next(action)
		if err != nil {
			return err
		}
		reason = strings.TrimSpace(reason)
		if action == devices.AlertResolve && reason == "" {
			return devices.Invalid("reason", "say why the alert is resolved")
		}
		now := s.now()
		updates := map[string]any{"state": string(to), "version": row.Version + 1, "updated_at": now}
		changes := devices.Changes{"state": {From: row.State, To: string(to)}}
		if reason != "" {
			updates["resolved_reason"] = reason
			changes["resolved_reason"] = devices.Change{To: reason}
		}
		if err := updateAt(tx, &alertRow{}, row.ID, row.Version, updates); err != nil {
			return err
		}
		if err := s.audit(tx, a, string(action), devices.ResourceAlert, row.ID, changes); err != nil {
			return err
		}
		if err := tx.Where("id = ?", row.ID).Take(&row).Error; err != nil {
			return err
		}
		out = row.toAlert()
		return nil
	})
	return out, err
}

// RaiseSilent implements devices.SilenceStore.
func (s *Store) RaiseSilent(ctx context.Context, now time.Time, thermometer, elevator time.Duration) (devices.SilenceReport, error) {
	var rep devices.SilenceReport
	err := s.tx(ctx, func(tx *gorm.DB) error {
		rep = devices.SilenceReport{}
		var creds []credentialRow
		if err := tx.Where("revoked_at IS NULL").Order("device_id").Find(&creds).Error; err != nil {
			return err
		}
		rep.Watched = len(creds)
		for chunk := range slices.Chunk(creds, 500) {
			ids := make([]string, len(chunk))
			for i, c := range chunk {
				ids[i] = c.DeviceID
			}
			var last []struct {
				DeviceID string
				Last     sqlTime
			}
			if err := tx.Model(&readingRow{}).Select("device_id, MAX(received_at) AS last").Where("device_id IN ?", ids).
				Group("device_id").Find(&last).Error; err != nil {
				return err
			}
			lastOf := map[string]time.Time{}
			for _, l := range last {
				lastOf[l.DeviceID] = time.Time(l.Last)
			}
			for _, c := range chunk {
				since, ok := lastOf[c.DeviceID]
				if !ok || since.Before(c.IssuedAt) {
					since = c.IssuedAt
				}
				limit := thermometer
				if c.Kind == string(devices.DeviceElevator) {
					limit = elevator
				}
				if now.Sub(since) <= limit {
					continue
				}
				rep.Silent++
				var open int64
				if err := tx.Model(&alertRow{}).Where("device_id = ? AND kind = ? AND state <> ?", c.DeviceID, string(devices.AlertSilent),
					string(devices.AlertResolved)).Count(&open).Error; err != nil {
					return err
				}
				if open > 0 {
					continue
				}
				var institute *string
				if c.Kind == string(devices.DeviceThermometer) {
					var inst []*string
					if err := tx.Model(&thermometerRow{}).Where("id = ?", c.DeviceID).Pluck("institute_id", &inst).Error; err != nil {
						return err
					}
					if len(inst) == 1 {
						institute = inst[0]
					}
				}
				stamp := s.now()
				if err := tx.Create(&alertRow{ID: newID(), DeviceID: c.DeviceID, DeviceKind: c.Kind, VenueID: c.VenueID,
					OperatorOrgID: c.OperatorOrgID, InstituteID: institute, Kind: string(devices.AlertSilent), State: string(devices.AlertOpen),
					FirstAt: since.UTC(), LastAt: since.UTC(), Evidence: 1,
					Detail:  fmt.Sprintf("nothing received since %s (limit %s)", since.UTC().Format(time.RFC3339), limit),
					Version: 1, CreatedAt: stamp, UpdatedAt: stamp}).Error; err != nil {
					return err
				}
				rep.Raised++
			}
		}
		return nil
	})
	return rep, err
}

// endSilence resolves the silent alerts of devices that just sent
// something.
func (s *Store) endSilence(tx *gorm.DB, deviceIDs []string, now time.Time) error {
	if len(deviceIDs) == 0 {
		return nil
	}
	return tx.Model(&alertRow{}).Where("device_id IN ? AND kind = ? AND state <> ?", deviceIDs, string(devices.AlertSilent),
		string(devices.AlertResolved)).Updates(map[string]any{"state": string(devices.AlertResolved),
		"resolved_reason": "the device reported again", "version": gorm.Expr("version + 1"), "updated_at": now}).Error
}

// sqlTime scans an aggregate of a time column: PostgreSQL answers a
// time, SQLite the text it stored.
type sqlTime time.Time

// Scan implements sql.Scanner.
func (t *sqlTime) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case time.Time:
		*t = sqlTime(v)
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("time: cannot scan %T", src)
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999"} {
		if v, err := time.Parse(layout, s); err == nil {
			*t = sqlTime(v)
			return nil
		}
	}
	return fmt.Errorf("time: cannot parse %q", s)
}
