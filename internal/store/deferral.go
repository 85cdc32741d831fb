package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
)

type deferralRow struct {
	ID              string
	DeclaredByOrgID string
	Name            string
	Reason          string
	Types           string // comma-separated
	RegionCodes     string // comma-separated
	WindowFrom      calendarDate
	WindowTo        calendarDate
	ExtendDays      int
	State           string
	LiftedAt        *time.Time
	LiftReason      string
	Version         int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func (deferralRow) TableName() string { return "deferrals" }

type deferralVenueRow struct {
	DeferralID string
	VenueID    string
}

func (deferralVenueRow) TableName() string { return "deferral_venues" }

func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// toDeferral joins the row with its venue list (as the caller may see it)
// and the count of thermometers it holds.
func (r deferralRow) toDeferral(venues []string, deferred int) devices.Deferral {
	d := devices.Deferral{ID: r.ID, DeclaredByOrg: r.DeclaredByOrgID, Name: r.Name, Reason: r.Reason,
		RegionCodes: splitList(r.RegionCodes), VenueIDs: venues, WindowFrom: string(r.WindowFrom), WindowTo: string(r.WindowTo),
		ExtendDays: r.ExtendDays, State: devices.DeferralState(r.State), Deferred: deferred, LiftedAt: utcPtr(r.LiftedAt),
		LiftReason: r.LiftReason, Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	d.Types = []devices.ThermometerType{}
	for _, t := range splitList(r.Types) {
		d.Types = append(d.Types, devices.ThermometerType(t))
	}
	if d.VenueIDs == nil {
		d.VenueIDs = []string{}
	}
	return d
}

// deferralScope: a deferral is public regulation, except that one naming
// venues is seen only through a venue the caller may see (the regulator
// sees every one).
func deferralScope(a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		if a.IsRegulator() {
			return q
		}
		fresh := q.Session(&gorm.Session{NewDB: true})
		named := fresh.Table("deferral_venues AS dv").Select("1").Where("dv.deferral_id = deferrals.id")
		seen := fresh.Table("deferral_venues AS dv").Select("1").Joins("JOIN venues ON venues.id = dv.venue_id").
			Where("dv.deferral_id = deferrals.id").Scopes(venueScope(a))
		return q.Where("NOT EXISTS (?) OR EXISTS (?)", named, seen)
	}
}

// deferralDetails reads, for the given deferrals, the venues of their
// scope the actor may see and how many of the actor's visible thermometers
// each holds.
func (s *Store) deferralDetails(q *gorm.DB, a devices.Actor, ids []string) (map[string][]string, map[string]int, error) {
	venues, counts := map[string][]string{}, map[string]int{}
	if len(ids) == 0 {
		return venues, counts, nil
	}
	var vrows []deferralVenueRow
	if err := q.Table("deferral_venues AS dv").Select("dv.deferral_id, dv.venue_id").
		Joins("JOIN venues ON venues.id = dv.venue_id").Scopes(venueScope(a)).
		Where("dv.deferral_id IN ?", ids).Order("dv.venue_id").Find(&vrows).Error; err != nil {
		return nil, nil, err
	}
	for _, v := range vrows {
		venues[v.DeferralID] = append(venues[v.DeferralID], v.VenueID)
	}
	var crows []struct {
		DeferralID string
		N          int
	}
	if err := q.Model(&thermometerRow{}).Scopes(thermometerScope(a)).Select("thermometers.deferral_id, count(*) AS n").
		Where("thermometers.deferral_id IN ?", ids).Group("thermometers.deferral_id").Find(&crows).Error; err != nil {
		return nil, nil, err
	}
	for _, c := range crows {
		counts[c.DeferralID] = c.N
	}
	return venues, counts, nil
}

func (s *Store) getDeferral(q *gorm.DB, a devices.Actor, id string) (deferralRow, error) {
	return takeVisible[deferralRow](q, deferralScope(a), "deferrals", "deferral", strings.ToLower(id))
}

func (s *Store) loadDeferral(q *gorm.DB, a devices.Actor, id string) (devices.Deferral, error) {
	row, err := s.getDeferral(q, a, id)
	if err != nil {
		return devices.Deferral{}, err
	}
	venues, counts, err := s.deferralDetails(q, a, []string{row.ID})
	return row.toDeferral(venues[row.ID], counts[row.ID]), err
}

// GetDeferral implements devices.DeferralStore.
func (s *Store) GetDeferral(ctx context.Context, a devices.Actor, id string) (devices.Deferral, error) {
	return s.loadDeferral(s.db.WithContext(ctx), a, id)
}

// ListDeferrals implements devices.DeferralStore.
func (s *Store) ListDeferrals(ctx context.Context, a devices.Actor, state devices.DeferralState, p devices.Page) ([]devices.Deferral, string, error) {
	q := s.db.WithContext(ctx).Model(&deferralRow{}).Scopes(deferralScope(a))
	if state != "" {
		q = q.Where("deferrals.state = ?", string(state))
	}
	q, err := pageQuery(q, "deferrals", &p, false)
	if err != nil {
		return nil, "", err
	}
	var rows []deferralRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", translate(err, "deferrals")
	}
	rows, next := cutPage(rows, p.Limit, func(r deferralRow) string { return r.ID })
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	venues, counts, err := s.deferralDetails(s.db.WithContext(ctx), a, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]devices.Deferral, len(rows))
	for i, r := range rows {
		out[i] = r.toDeferral(venues[r.ID], counts[r.ID])
	}
	return out, next, nil
}

// DeclareDeferral implements devices.DeferralStore.
func (s *Store) DeclareDeferral(ctx context.Context, a devices.Actor, d *devices.Deferral) (devices.DeferralReport, error) {
	var rep devices.DeferralReport
	if !a.IsRegulator() || !a.IsAdmin() {
		return rep, devices.Forbidden("only a regulator admin declares a deferral")
	}
	if err := d.Validate(); err != nil {
		return rep, err
	}
	err := s.once(ctx, a, devices.ResourceDeferral, func(tx *gorm.DB) (outcome, error) {
		rep = devices.DeferralReport{}
		if len(d.VenueIDs) > 0 {
			var found []string
			if err := tx.Model(&venueRow{}).Where("id IN ?", d.VenueIDs).Pluck("id", &found).Error; err != nil {
				return outcome{}, err
			}
			var p devices.Problems
			for i, v := range d.VenueIDs {
				if !slices.Contains(found, v) {
					p.Add("venue_ids["+strconv.Itoa(i)+"]", "no such venue")
				}
			}
			if err := p.Err(); err != nil {
				return outcome{}, err
			}
		}
		now := s.now()
		types := make([]string, len(d.Types))
		for i, t := range d.Types {
			types[i] = string(t)
		}
		d.ID, d.DeclaredByOrg, d.State, d.Version, d.CreatedAt, d.UpdatedAt = newID(), a.OrgID, devices.DeferralActive, 1, now, now
		row := deferralRow{ID: d.ID, DeclaredByOrgID: a.OrgID, Name: d.Name, Reason: d.Reason, Types: strings.Join(types, ","),
			RegionCodes: strings.Join(d.RegionCodes, ","), WindowFrom: calendarDate(d.WindowFrom), WindowTo: calendarDate(d.WindowTo),
			ExtendDays: d.ExtendDays, State: string(d.State), Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&row).Error; err != nil {
			return outcome{}, translate(err, "deferral")
		}
		for _, v := range d.VenueIDs {
			if err := tx.Create(&deferralVenueRow{DeferralID: d.ID, VenueID: v}).Error; err != nil {
				return outcome{}, translate(err, "deferral venue")
			}
		}
		if err := s.applyDeferral(tx, *d, nil, &rep); err != nil {
			return outcome{}, err
		}
		d.Deferred = rep.Deferred
		return outcome{id: d.ID}, s.audit(tx, a, devices.ActionCreate, devices.ResourceDeferral, d.ID, created(map[string]any{
			"name": d.Name, "reason": d.Reason, "types": types, "region_codes": d.RegionCodes, "venue_ids": d.VenueIDs,
			"window_from": d.WindowFrom, "window_to": d.WindowTo, "extend_days": d.ExtendDays,
			"thermometers_deferred": rep.Deferred, "tasks_cancelled": rep.TasksCancelled, "visits_cancelled": rep.VisitsCancelled}))
	})
	return rep, err
}

// LiftDeferral implements devices.DeferralStore.
func (s *Store) LiftDeferral(ctx context.Context, a devices.Actor, id string, version int, reason string) (devices.Deferral, devices.DeferralReport, error) {
	var (
		out devices.Deferral
		rep devices.DeferralReport
	)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		rep = devices.DeferralReport{}
		row, err := s.getDeferral(tx, a, id)
		if err != nil {
			return err
		}
		if !a.IsRegulator() || !a.IsAdmin() {
			return devices.Forbidden("only a regulator admin lifts a deferral")
		}
		if version != devices.AnyVersion && version != row.Version {
			return devices.ErrPreconditionFailed
		}
		if row.State != string(devices.DeferralActive) {
			return devices.Conflict("invalid_transition", "the deferral was lifted already")
		}
		reason = strings.TrimSpace(reason)
		if reason == "" {
			return devices.Invalid("reason", "say why the deferral is lifted")
		}
		now := s.now()
		if err := updateAt(tx, &deferralRow{}, row.ID, row.Version, map[string]any{
			"state": string(devices.DeferralLifted), "lifted_at": now, "lift_reason": reason,
			"version": row.Version + 1, "updated_at": now}); err != nil {
			return err
		}
		var held []string
		if err := tx.Model(&thermometerRow{}).Where("deferral_id = ?", row.ID).Order("id").Pluck("id", &held).Error; err != nil {
			return err
		}
		for chunk := range slices.Chunk(held, 500) {
			r := tx.Model(&thermometerRow{}).Where("id IN ? AND deferral_id = ?", chunk, row.ID).Updates(map[string]any{
				"next_due_at": gorm.Expr("normal_due_at"), "normal_due_at": nil, "deferral_id": nil,
				"version": gorm.Expr("version + 1"), "updated_at": now})
			if r.Error != nil {
				return r.Error
			}
			rep.Restored += int(r.RowsAffected)
		}
		// Another active deferral may cover a restored date.
		if len(held) > 0 {
			if err := s.applyActive(tx, held, &rep); err != nil {
				return err
			}
		}
		// The tasks it cancelled come back where their device is neither
		// deferred again nor given other work meanwhile.
		for chunk := range slices.Chunk(held, 500) {
			r := tx.Model(&taskRow{}).
				Where("deferral_id = ? AND state = ? AND thermometer_id IN ?", row.ID, string(devices.TaskCancelled), chunk).
				Where("thermometer_id IN (SELECT id FROM thermometers WHERE deferral_id IS NULL AND status <> ?)", string(devices.StatusRetired)).
				Where("NOT EXISTS (SELECT 1 FROM calibration_tasks k WHERE k.thermometer_id = calibration_tasks.thermometer_id AND k.state IN ?)", activeTaskStates).
				Updates(map[string]any{"state": string(devices.TaskOpen), "cancel_reason": "", "deferral_id": nil,
					"version": gorm.Expr("version + 1"), "updated_at": now})
			if r.Error != nil {
				return r.Error
			}
			rep.TasksReopened += int(r.RowsAffected)
		}
		if err := s.audit(tx, a, devices.ActionLift, devices.ResourceDeferral, row.ID, devices.Changes{
			"state":                 {From: row.State, To: string(devices.DeferralLifted)},
			"lift_reason":           {To: reason},
			"thermometers_restored": {To: rep.Restored}, "tasks_reopened": {To: rep.TasksReopened},
			"thermometers_deferred_again": {To: rep.Deferred}}); err != nil {
			return err
		}
		out, err = s.loadDeferral(tx, a, row.ID)
		return err
	})
	return out, rep, err
}

// applyActive applies every active deferral, oldest first, to the
// thermometers not yet deferred (only those listed, when only is not
// nil). A device takes the first deferral that covers its date.
func (s *Store) applyActive(tx *gorm.DB, only []string, rep *devices.DeferralReport) error {
	var rows []deferralRow
	if err := tx.Where("state = ?", string(devices.DeferralActive)).Order("created_at, id").Find(&rows).Error; err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var vrows []deferralVenueRow
	if err := tx.Where("deferral_id IN ?", ids).Find(&vrows).Error; err != nil {
		return err
	}
	venues := map[string][]string{}
	for _, v := range vrows {
		venues[v.DeferralID] = append(venues[v.DeferralID], v.VenueID)
	}
	for _, r := range rows {
		if err := s.applyDeferral(tx, r.toDeferral(venues[r.ID], 0), only, rep); err != nil {
			return fmt.Errorf("apply deferral %s: %w", r.ID, err)
		}
	}
	return nil
}

// ApplyDeferrals applies the active deferrals to every thermometer whose
// due date came into a window since (a new registration, a calibration, an
// edit of the interval). The plan job runs it before planning.
func (s *Store) ApplyDeferrals(ctx context.Context) (devices.DeferralReport, error) {
	var rep devices.DeferralReport
	err := s.tx(ctx, func(tx *gorm.DB) error {
		rep = devices.DeferralReport{}
		return s.applyActive(tx, nil, &rep)
	})
	return rep, err
}

type deferralCandidate struct {
	ID         string
	Type       string
	VenueID    string
	NextDueAt  time.Time
	RegionCode string
	TimeZone   string
}

// applyDeferral moves the due date of every thermometer d covers that no
// deferral holds yet (only those listed, when only is not nil), cancels
// their open on-site calibration tasks (and those scheduled in visits not
// yet confirmed) and cancels the planned visits left empty. The database
// narrows by scope and by a window widened by a day on each side for time
// zones; each device is then judged in its venue's zone.
func (s *Store) applyDeferral(tx *gorm.DB, d devices.Deferral, only []string, rep *devices.DeferralReport) error {
	from, err := time.Parse(dateLayout, d.WindowFrom)
	if err != nil {
		return err
	}
	to, err := time.Parse(dateLayout, d.WindowTo)
	if err != nil {
		return err
	}
	base := func() *gorm.DB {
		q := tx.Table("thermometers AS t").
			Select("t.id, t.type, t.venue_id, t.next_due_at, v.region_code, v.time_zone").
			Joins("JOIN venues v ON v.id = t.venue_id").
			Where("t.status <> ? AND t.deferral_id IS NULL AND t.next_due_at >= ? AND t.next_due_at < ?",
				string(devices.StatusRetired), from.AddDate(0, 0, -1), to.AddDate(0, 0, 2))
		if len(d.Types) > 0 {
			q = q.Where("t.type IN ?", d.Types)
		}
		if len(d.VenueIDs) > 0 {
			q = q.Where("t.venue_id IN ?", d.VenueIDs)
		}
		if len(d.RegionCodes) > 0 {
			ors := make([]string, len(d.RegionCodes))
			args := make([]any, len(d.RegionCodes))
			for i, c := range d.RegionCodes {
				ors[i], args[i] = "v.region_code LIKE ?", devices.RegionPrefix(c)+"%"
			}
			q = q.Where("("+strings.Join(ors, " OR ")+")", args...)
		}
		return q
	}
	apply := func(cands []deferralCandidate) error {
		now := s.now()
		var moved []string
		for _, c := range cands {
			if !d.Covers(devices.ThermometerType(c.Type), c.VenueID, c.RegionCode) {
				continue
			}
			due, ok := d.DeferredDue(c.NextDueAt.UTC(), s.zone(c.TimeZone))
			if !ok {
				continue
			}
			r := tx.Model(&thermometerRow{}).Where("id = ? AND deferral_id IS NULL", c.ID).Updates(map[string]any{
				"normal_due_at": gorm.Expr("next_due_at"), "next_due_at": due, "deferral_id": d.ID,
				"version": gorm.Expr("version + 1"), "updated_at": now})
			if r.Error != nil {
				return r.Error
			}
			if r.RowsAffected == 1 {
				moved = append(moved, c.ID)
			}
		}
		rep.Deferred += len(moved)
		return s.cancelDeferredWork(tx, d, moved, now, rep)
	}
	if only != nil {
		for chunk := range slices.Chunk(only, 500) {
			var cands []deferralCandidate
			if err := base().Where("t.id IN ?", chunk).Find(&cands).Error; err != nil {
				return err
			}
			if err := apply(cands); err != nil {
				return err
			}
		}
		return nil
	}
	after := ""
	for {
		var cands []deferralCandidate
		q := base()
		if after != "" {
			q = q.Where("t.id > ?", after)
		}
		if err := q.Order("t.id").Limit(planBatch).Find(&cands).Error; err != nil {
			return err
		}
		if len(cands) == 0 {
			return nil
		}
		after = cands[len(cands)-1].ID
		if err := apply(cands); err != nil {
			return err
		}
		if len(cands) < planBatch {
			return nil
		}
	}
}

// cancelDeferredWork cancels the on-site calibration tasks of deferred
// thermometers that are open or scheduled in a visit the institute has
// not confirmed (confirmed work goes ahead), and cancels planned visits
// left without work. Requests and re-checks are asked for, not due: they
// stay, and so does a task an alert raised to the out-of-tolerance class.
func (s *Store) cancelDeferredWork(tx *gorm.DB, d devices.Deferral, ids []string, now time.Time, rep *devices.DeferralReport) error {
	if len(ids) == 0 {
		return nil
	}
	why := fmt.Sprintf("deferred by %q: due dates from %s to %s move %d days past the window", d.Name, d.WindowFrom, d.WindowTo, d.ExtendDays)
	planned := tx.Session(&gorm.Session{NewDB: true}).Model(&visitRow{}).Select("id").Where("state = ?", string(devices.VisitPlanned))
	for chunk := range slices.Chunk(ids, 500) {
		match := func() *gorm.DB {
			// A task an alert made urgent (the thermometer drifted or read
			// out of tolerance) is not routine work: it stays.
			return tx.Model(&taskRow{}).Where("thermometer_id IN ? AND kind = ? AND priority > ?", chunk, string(devices.TaskOnSite),
				devices.PriorityOutOfTolerance).
				Where("state = ? OR (state = ? AND visit_id IN (?))", string(devices.TaskOpen), string(devices.TaskScheduled), planned)
		}
		var visits []string
		if err := match().Where("visit_id IS NOT NULL").Distinct("visit_id").Pluck("visit_id", &visits).Error; err != nil {
			return err
		}
		r := match().Updates(map[string]any{"state": string(devices.TaskCancelled), "cancel_reason": why, "deferral_id": d.ID,
			"visit_id": nil, "version": gorm.Expr("version + 1"), "updated_at": now})
		if r.Error != nil {
			return r.Error
		}
		rep.TasksCancelled += int(r.RowsAffected)
		if len(visits) == 0 {
			continue
		}
		r = tx.Model(&visitRow{}).Where("id IN ? AND state = ?", visits, string(devices.VisitPlanned)).
			Where("NOT EXISTS (SELECT 1 FROM calibration_tasks k WHERE k.visit_id = visits.id AND k.state IN ?)", activeTaskStates).
			Updates(map[string]any{"state": string(devices.VisitCancelled), "cancel_reason": "its tasks were " + why,
				"version": gorm.Expr("version + 1"), "updated_at": now})
		if r.Error != nil {
			return r.Error
		}
		rep.VisitsCancelled += int(r.RowsAffected)
	}
	return nil
}
