package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
)

type calendarRow struct {
	InstituteID               string `gorm:"primaryKey"`
	TimeZone                  string
	Technicians               int
	VisitsPerTechnicianPerDay int
	WorkingDays               string // Go weekday numbers, "1,2,3,4,5"
	Holidays                  string // JSON array of YYYY-MM-DD
	Version                   int
	UpdatedAt                 time.Time
}

func (calendarRow) TableName() string { return "institute_calendars" }

func fromCalendar(instituteID string, c devices.InstituteCalendar, version int, at time.Time) calendarRow {
	days := make([]string, len(c.WorkingDays))
	for i, d := range c.WorkingDays {
		days[i] = strconv.Itoa(int(d))
	}
	hol, _ := json.Marshal(append([]string{}, c.Holidays...))
	return calendarRow{InstituteID: instituteID, TimeZone: c.TimeZone, Technicians: c.Technicians,
		VisitsPerTechnicianPerDay: c.VisitsPerTechnicianPerDay, WorkingDays: strings.Join(days, ","),
		Holidays: string(hol), Version: version, UpdatedAt: at}
}

func (r calendarRow) toCalendar() devices.InstituteCalendar {
	c := devices.InstituteCalendar{TimeZone: r.TimeZone, Technicians: r.Technicians,
		VisitsPerTechnicianPerDay: r.VisitsPerTechnicianPerDay, Holidays: []string{}}
	for _, d := range strings.Split(r.WorkingDays, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(d)); err == nil {
			c.WorkingDays = append(c.WorkingDays, time.Weekday(n))
		}
	}
	_ = json.Unmarshal([]byte(r.Holidays), &c.Holidays)
	return c
}

type visitRow struct {
	ID            string
	InstituteID   string
	VenueID       string
	OperatorOrgID string
	Day           calendarDate
	State         string
	Priority      int
	Why           string
	CancelReason  string
	Version       int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (visitRow) TableName() string { return "visits" }

func (r visitRow) toVisit(taskIDs []string, techs []devices.VisitTechnician) devices.Visit {
	if taskIDs == nil {
		taskIDs = []string{}
	}
	if techs == nil {
		techs = []devices.VisitTechnician{}
	}
	return devices.Visit{ID: r.ID, InstituteID: r.InstituteID, VenueID: r.VenueID, OperatorOrgID: r.OperatorOrgID,
		Day: string(r.Day), State: devices.VisitState(r.State), Priority: r.Priority, Why: r.Why,
		CancelReason: r.CancelReason, TaskIDs: taskIDs, Technicians: techs, Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// visitScope: the regulator sees every visit, an institute its own, a
// venue operator the visits to its venues; a maintenance firm none.
func visitScope(a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		switch a.OrgKind {
		case devices.KindRegulator:
			return q
		case devices.KindVenueOperator:
			return q.Where("visits.operator_org_id = ?", a.OrgID)
		case devices.KindMetrologyInstitute:
			return q.Where("visits.institute_id = ?", a.OrgID)
		}
		return q.Where("1 = 0")
	}
}

// calendarOf returns the institute's calendar (the default if it has none)
// and its version (0 for the default).
func calendarOf(q *gorm.DB, instituteID string) (devices.InstituteCalendar, int, error) {
	var rows []calendarRow
	if err := q.Where("institute_id = ?", instituteID).Limit(1).Find(&rows).Error; err != nil {
		return devices.InstituteCalendar{}, 0, err
	}
	if len(rows) == 0 {
		return devices.DefaultInstituteCalendar(), 0, nil
	}
	return rows[0].toCalendar(), rows[0].Version, nil
}

// instituteFor returns the institute org the actor may see, or not found.
func (s *Store) instituteFor(q *gorm.DB, a devices.Actor, id string) (orgRow, error) {
	org, err := s.getOrg(q, a, id)
	if err != nil {
		return org, err
	}
	if org.Kind != string(devices.KindMetrologyInstitute) {
		return org, fmt.Errorf("institute %q: %w", id, devices.ErrNotFound)
	}
	return org, nil
}

// GetCalendar implements devices.VisitStore: the institute itself and the
// regulator read it; version 0 means the default, never saved.
func (s *Store) GetCalendar(ctx context.Context, a devices.Actor, instituteID string) (devices.InstituteCalendar, int, error) {
	q := s.db.WithContext(ctx)
	if !a.IsRegulator() && a.OrgID != instituteID {
		return devices.InstituteCalendar{}, 0, fmt.Errorf("institute %q: %w", instituteID, devices.ErrNotFound)
	}
	if _, err := s.instituteFor(q, a, instituteID); err != nil {
		return devices.InstituteCalendar{}, 0, err
	}
	return calendarOf(q, instituteID)
}

// PutCalendar implements devices.VisitStore: an admin of the institute (or
// a regulator admin) replaces it at the version read (0 for the default).
func (s *Store) PutCalendar(ctx context.Context, a devices.Actor, instituteID string, version int, c devices.InstituteCalendar) (devices.InstituteCalendar, int, error) {
	var out devices.InstituteCalendar
	var outVersion int
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if !a.IsRegulator() && a.OrgID != instituteID {
			return fmt.Errorf("institute %q: %w", instituteID, devices.ErrNotFound)
		}
		if _, err := s.instituteFor(tx, a, instituteID); err != nil {
			return err
		}
		if !a.IsAdmin() {
			return devices.Forbidden("only an admin of the institute or a regulator admin changes its calendar")
		}
		if err := c.Validate(); err != nil {
			return err
		}
		old, cur, err := calendarOf(tx, instituteID)
		if err != nil {
			return err
		}
		if version != devices.AnyVersion && version != cur {
			return devices.ErrPreconditionFailed
		}
		row := fromCalendar(instituteID, c, cur+1, s.now())
		if cur == 0 {
			err = tx.Create(&row).Error
		} else {
			res := tx.Model(&calendarRow{}).Where("institute_id = ? AND version = ?", instituteID, cur).
				Select("*").Updates(&row)
			err = res.Error
			if err == nil && res.RowsAffected == 0 {
				err = devices.ErrPreconditionFailed
			}
		}
		if err != nil {
			return translate(err, "calendar")
		}
		out, outVersion = row.toCalendar(), row.Version
		return s.audit(tx, a, devices.ActionUpdate, devices.ResourceOrganization, instituteID, devices.Changes{
			"calendar": {From: old, To: out}})
	})
	return out, outVersion, err
}

func (s *Store) visitTasks(q *gorm.DB, visitIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(visitIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		ID      string
		VisitID string
	}
	err := q.Table("calibration_tasks").Select("id, visit_id").Where("visit_id IN ?", visitIDs).
		Order("priority, due_on, id").Find(&rows).Error
	for _, r := range rows {
		out[r.VisitID] = append(out[r.VisitID], r.ID)
	}
	return out, err
}

// visitsOf turns rows into visits with their tasks and technicians.
func (s *Store) visitsOf(q *gorm.DB, rows []visitRow) ([]devices.Visit, error) {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	tasks, err := s.visitTasks(q, ids)
	if err != nil {
		return nil, err
	}
	techs, err := visitTechnicians(q, ids)
	if err != nil {
		return nil, err
	}
	out := make([]devices.Visit, len(rows))
	for i, r := range rows {
		out[i] = r.toVisit(tasks[r.ID], techs[r.ID])
	}
	return out, nil
}

// visitOf is visitsOf for one row.
func (s *Store) visitOf(q *gorm.DB, row visitRow) (devices.Visit, error) {
	vs, err := s.visitsOf(q, []visitRow{row})
	if err != nil {
		return devices.Visit{}, err
	}
	return vs[0], nil
}

func (s *Store) getVisit(q *gorm.DB, a devices.Actor, id string) (visitRow, error) {
	return takeVisible[visitRow](q, visitScope(a), "visits", "visit", id)
}

// GetVisit implements devices.VisitStore.
func (s *Store) GetVisit(ctx context.Context, a devices.Actor, id string) (devices.Visit, error) {
	q := s.db.WithContext(ctx)
	row, err := s.getVisit(q, a, id)
	if err != nil {
		return devices.Visit{}, err
	}
	return s.visitOf(q, row)
}

// ListVisits implements devices.VisitStore.
func (s *Store) ListVisits(ctx context.Context, a devices.Actor, f devices.VisitFilter, p devices.Page) ([]devices.Visit, string, error) {
	q := s.db.WithContext(ctx).Model(&visitRow{}).Scopes(visitScope(a))
	if f.InstituteID != "" {
		q = q.Where("visits.institute_id = ?", f.InstituteID)
	}
	if f.VenueID != "" {
		q = q.Where("visits.venue_id = ?", f.VenueID)
	}
	if f.TechnicianID != "" {
		q = q.Where("visits.id IN (SELECT vt.visit_id FROM visit_technicians vt WHERE vt.technician_id = ?)", f.TechnicianID)
	}
	if f.State != "" {
		q = q.Where("visits.state = ?", string(f.State))
	}
	if f.From != "" {
		q = q.Where("visits.day >= ?", calendarDate(f.From))
	}
	if f.To != "" {
		q = q.Where("visits.day <= ?", calendarDate(f.To))
	}
	q, err := pageQuery(q, "visits", &p, false)
	if err != nil {
		return nil, "", err
	}
	var rows []visitRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", translate(err, "visits")
	}
	rows, next := cutPage(rows, p.Limit, func(r visitRow) string { return r.ID })
	out, err := s.visitsOf(s.db.WithContext(ctx), rows)
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// ActOnVisit implements devices.VisitStore. Only the visit's institute
// (admin or member) or a regulator admin acts; the venue's operator sees
// the visit but gets 403. Tasks follow their visit: start puts them in
// progress, cancel returns them to open for the next plan; complete needs
// every task completed or cancelled (results complete them).
func (s *Store) ActOnVisit(ctx context.Context, a devices.Actor, id string, version int, action devices.VisitAction, reason string) (devices.Visit, error) {
	var out devices.Visit
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.getVisit(tx, a, id)
		if err != nil {
			return err
		}
		if a.OrgID != row.InstituteID && !(a.IsRegulator() && a.IsAdmin()) {
			return devices.Forbidden("only the visit's institute acts on it")
		}
		if version != devices.AnyVersion && version != row.Version {
			return devices.ErrPreconditionFailed
		}
		to, err := devices.VisitState(row.State).Next(action)
		if err != nil {
			return err
		}
		reason = strings.TrimSpace(reason)
		if action == devices.VisitCancel && reason == "" {
			return devices.Invalid("reason", "is required to cancel a visit")
		}
		now := s.now()
		switch action {
		case devices.VisitStart:
			if err := tx.Model(&taskRow{}).Where("visit_id = ? AND state = ?", row.ID, string(devices.TaskScheduled)).
				Updates(map[string]any{"state": string(devices.TaskInProgress), "version": gorm.Expr("version + 1"), "updated_at": now}).Error; err != nil {
				return err
			}
		case devices.VisitComplete:
			var pending int64
			if err := tx.Model(&taskRow{}).Where("visit_id = ? AND state NOT IN ?", row.ID,
				[]string{string(devices.TaskCompleted), string(devices.TaskCancelled)}).Count(&pending).Error; err != nil {
				return err
			}
			if pending > 0 {
				return devices.Conflict("tasks_pending", "%d of the visit's tasks are neither completed nor cancelled; record their results first", pending)
			}
		case devices.VisitCancel:
			if err := tx.Model(&taskRow{}).Where("visit_id = ? AND state IN ?", row.ID, activeTaskStates).
				Updates(map[string]any{"state": string(devices.TaskOpen), "visit_id": nil, "version": gorm.Expr("version + 1"), "updated_at": now}).Error; err != nil {
				return err
			}
		}
		if err := updateAt(tx, &visitRow{}, row.ID, row.Version, map[string]any{
			"state": string(to), "cancel_reason": reason, "version": row.Version + 1, "updated_at": now}); err != nil {
			return err
		}
		changes := devices.Changes{"state": {From: row.State, To: string(to)}}
		if reason != "" {
			changes["cancel_reason"] = devices.Change{From: row.CancelReason, To: reason}
		}
		if err := s.audit(tx, a, string(action), ResourceVisit, row.ID, changes); err != nil {
			return err
		}
		row.State, row.CancelReason, row.Version, row.UpdatedAt = string(to), reason, row.Version+1, now
		out, err = s.visitOf(tx, row)
		return err
	})
	return out, err
}

// ResourceVisit names visits in the audit log.
const ResourceVisit = devices.ResourceVisit

// PlanVisits implements devices.VisitStore: each institute with open tasks
// or planned visits is planned in its own transaction.
func (s *Store) PlanVisits(ctx context.Context, now time.Time, horizonDays int) (devices.VisitReport, error) {
	var rep devices.VisitReport
	var institutes []string
	err := s.db.WithContext(ctx).Raw(`SELECT institute_id FROM calibration_tasks WHERE state = ? AND institute_id IS NOT NULL
		UNION SELECT institute_id FROM visits WHERE state = ?`, string(devices.TaskOpen), string(devices.VisitPlanned)).
		Scan(&institutes).Error
	if err != nil {
		return rep, err
	}
	slices.Sort(institutes)
	for _, inst := range institutes {
		var one devices.VisitReport // per attempt: a transaction run again (tx) counts afresh
		if err := s.tx(ctx, func(tx *gorm.DB) error {
			one = devices.VisitReport{}
			return s.planInstitute(tx, inst, now, horizonDays, &one)
		}); err != nil {
			return rep, fmt.Errorf("plan visits of institute %s: %w", inst, err)
		}
		rep.Planned += one.Planned
		rep.Unchanged += one.Unchanged
		rep.Unplaced += one.Unplaced
		rep.Emptied += one.Emptied
		rep.Institutes++
	}
	return rep, nil
}

func (s *Store) planInstitute(tx *gorm.DB, inst string, now time.Time, horizonDays int, rep *devices.VisitReport) error {
	cal, _, err := calendarOf(tx, inst)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(cal.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	y, m, d := now.In(loc).Date()
	from := time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC).Format(dateLayout)

	var planned []visitRow
	if err := tx.Where("institute_id = ? AND state = ?", inst, string(devices.VisitPlanned)).Find(&planned).Error; err != nil {
		return err
	}
	plannedIDs := make([]string, len(planned))
	existing := make([]devices.ExistingVisit, len(planned))
	for i, v := range planned {
		plannedIDs[i] = v.ID
		existing[i] = devices.ExistingVisit{VisitID: v.ID, VenueID: v.VenueID, Day: string(v.Day)}
	}
	var fixedRows []visitRow
	if err := tx.Where("institute_id = ? AND state IN ? AND day >= ?", inst,
		[]string{string(devices.VisitConfirmed), string(devices.VisitInProgress)}, calendarDate(from)).
		Find(&fixedRows).Error; err != nil {
		return err
	}
	fixed := make([]devices.FixedVisit, len(fixedRows))
	for i, v := range fixedRows {
		fixed[i] = devices.FixedVisit{VisitID: v.ID, VenueID: v.VenueID, Day: string(v.Day)}
	}
	var cands []struct {
		ID             string
		VenueID        string
		VenueName      string
		OperatorOrgID  string
		Priority       int
		PriorityReason string
		DueOn          calendarDate
	}
	q := tx.Table("calibration_tasks AS k").
		Select("k.id, k.venue_id, v.name AS venue_name, k.operator_org_id, k.priority, k.priority_reason, k.due_on").
		Joins("JOIN venues v ON v.id = k.venue_id").
		Where("k.institute_id = ?", inst)
	if len(plannedIDs) > 0 {
		q = q.Where("k.state = ? OR (k.state = ? AND k.visit_id IN ?)", string(devices.TaskOpen), string(devices.TaskScheduled), plannedIDs)
	} else {
		q = q.Where("k.state = ?", string(devices.TaskOpen))
	}
	if err := q.Order("k.id").Find(&cands).Error; err != nil {
		return err
	}
	tasks := make([]devices.PlannedTask, len(cands))
	operatorOf := map[string]string{}
	for i, c := range cands {
		tasks[i] = devices.PlannedTask{TaskID: c.ID, VenueID: c.VenueID, VenueName: c.VenueName, Priority: c.Priority,
			PriorityReason: c.PriorityReason, DueOn: string(c.DueOn)}
		operatorOf[c.VenueID] = c.OperatorOrgID
	}
	plans, unplaced, err := devices.PlanVisits(devices.VisitPlanInput{Calendar: cal, From: from, Horizon: horizonDays,
		Tasks: tasks, Fixed: fixed, Existing: existing})
	if err != nil {
		return err
	}
	current, err := s.visitTasks(tx, plannedIDs)
	if err != nil {
		return err
	}
	stamp := s.now()
	byID := map[string]visitRow{}
	for _, v := range planned {
		byID[v.ID] = v
	}
	kept := map[string]bool{}
	for _, p := range plans {
		id := p.VisitID
		if old, ok := byID[id]; ok {
			kept[id] = true
			// Same day, same tasks: nothing to change (the explanation's
			// wording may differ between runs; it is refreshed on a change).
			if string(old.Day) == p.Day && old.Priority == p.Priority && sameSet(current[id], p.TaskIDs) {
				rep.Unchanged++
			} else {
				if string(old.Day) != p.Day {
					rep.Planned++
				} else {
					rep.Unchanged++
				}
				if err := tx.Model(&visitRow{}).Where("id = ?", id).Updates(map[string]any{"day": calendarDate(p.Day),
					"priority": p.Priority, "why": p.Why, "version": gorm.Expr("version + 1"), "updated_at": stamp}).Error; err != nil {
					return err
				}
			}
		} else {
			id = newID()
			row := visitRow{ID: id, InstituteID: inst, VenueID: p.VenueID, OperatorOrgID: operatorOf[p.VenueID],
				Day: calendarDate(p.Day), State: string(devices.VisitPlanned), Priority: p.Priority, Why: p.Why,
				Version: 1, CreatedAt: stamp, UpdatedAt: stamp}
			if err := tx.Create(&row).Error; err != nil {
				return translate(err, "visit")
			}
			rep.Planned++
		}
		for chunk := range slices.Chunk(p.TaskIDs, 1000) {
			if err := tx.Model(&taskRow{}).
				Where("id IN ? AND (visit_id IS NULL OR visit_id <> ? OR state <> ?)", chunk, id, string(devices.TaskScheduled)).
				Updates(map[string]any{"visit_id": id, "state": string(devices.TaskScheduled),
					"version": gorm.Expr("version + 1"), "updated_at": stamp}).Error; err != nil {
				return err
			}
		}
	}
	if len(unplaced) > 0 {
		ids := make([]string, len(unplaced))
		for i, u := range unplaced {
			ids[i] = u.TaskID
		}
		rep.Unplaced += len(ids)
		for chunk := range slices.Chunk(ids, 1000) {
			if err := tx.Model(&taskRow{}).Where("id IN ? AND visit_id IS NOT NULL", chunk).
				Updates(map[string]any{"visit_id": nil, "state": string(devices.TaskOpen),
					"version": gorm.Expr("version + 1"), "updated_at": stamp}).Error; err != nil {
				return err
			}
		}
	}
	for _, v := range planned {
		if kept[v.ID] {
			continue
		}
		rep.Emptied++
		if err := tx.Model(&visitRow{}).Where("id = ?", v.ID).Updates(map[string]any{
			"state": string(devices.VisitCancelled), "cancel_reason": "re-planned: its tasks went to other visits or found no day",
			"version": gorm.Expr("version + 1"), "updated_at": stamp}).Error; err != nil {
			return err
		}
	}
	return nil
}

// sameSet reports whether a and b hold the same strings.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
