package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/devices"
)

type liftTaskRow struct {
	ID             string
	Kind           string
	ContractID     string
	ElevatorID     string
	VenueID        string
	OperatorOrgID  string
	FirmOrgID      string
	AgreementID    *string
	Category       string
	DueOn          calendarDate
	State          string
	Why            string
	CarriedItems   string
	SourceReportID *string
	OverdueSince   *time.Time
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (liftTaskRow) TableName() string { return "maintenance_tasks" }

func (r liftTaskRow) toLiftTask() devices.LiftTask {
	return devices.LiftTask{ID: r.ID, Kind: devices.LiftTaskKind(r.Kind), ContractID: r.ContractID, ElevatorID: r.ElevatorID,
		VenueID: r.VenueID, OperatorOrgID: r.OperatorOrgID, FirmOrgID: r.FirmOrgID, AgreementID: r.AgreementID,
		Category: devices.MaintenanceCategory(r.Category), DueOn: string(r.DueOn), State: devices.LiftTaskState(r.State),
		Why: r.Why, CarriedItems: splitCodes(r.CarriedItems), SourceReportID: r.SourceReportID,
		OverdueSince: utcPtr(r.OverdueSince), Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type reportRow struct {
	ID              string
	Kind            string
	TaskID          *string
	ContractID      string
	ElevatorID      string
	VenueID         string
	OperatorOrgID   string
	FirmOrgID       string
	AgreementID     *string
	Category        string
	PerformedAt     time.Time
	Technician      string
	VenuePerson     string
	Notes           string
	SubmittedAt     time.Time
	SubmittedBy     string
	CountersignedAt *time.Time
	CountersignedBy *string
	CountersignNote string
	UrgentTaskID    *string
	CarriedOver     string
	Version         int
}

func (reportRow) TableName() string { return "maintenance_reports" }

// toReport converts the row alone; items, evidence and the agreement's
// state are filled by withReportDetails.
func (r reportRow) toReport() devices.MaintenanceReport {
	out := devices.MaintenanceReport{ID: r.ID, Kind: devices.ReportKind(r.Kind), TaskID: r.TaskID, ContractID: r.ContractID,
		ElevatorID: r.ElevatorID, VenueID: r.VenueID, OperatorOrgID: r.OperatorOrgID, FirmOrgID: r.FirmOrgID,
		AgreementID: r.AgreementID, Category: devices.MaintenanceCategory(r.Category), PerformedAt: r.PerformedAt.UTC(),
		Technician: r.Technician, VenuePerson: r.VenuePerson, Notes: r.Notes, CountersignedAt: utcPtr(r.CountersignedAt),
		CountersignNote: r.CountersignNote, UrgentTaskID: r.UrgentTaskID, CarriedOver: splitCodes(r.CarriedOver),
		SubmittedAt: r.SubmittedAt.UTC()}
	if r.CountersignedBy != nil {
		out.CountersignedBy = *r.CountersignedBy
	}
	return out
}

type reportItemRow struct {
	ReportID string
	Ordinal  int
	Code     string
	Result   string
	Note     string
}

func (reportItemRow) TableName() string { return "maintenance_report_items" }

type evidenceRow struct {
	ReportID   string
	Ordinal    int
	URL        string `gorm:"column:url"`
	SHA256     string `gorm:"column:sha256"`
	DurationS  int    `gorm:"column:duration_s"`
	CapturedAt time.Time
}

func (evidenceRow) TableName() string { return "maintenance_evidence" }

// splitCodes reads a comma list of checklist codes.
func splitCodes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func joinCodes(codes []string) string { return strings.Join(codes, ",") }

// actorRef is who acted, for the submitted_by and countersigned_by
// columns: the token, or the organization when no token is involved.
func actorRef(a devices.Actor) string {
	if a.TokenID != "" {
		return a.TokenID
	}
	return a.OrgID
}

// ---- the lifts job --------------------------------------------------------

// liftContract is a contract the lifts job looks at, with its venue's zone.
type liftContract struct {
	ID       string
	TimeZone string
}

// PlanLiftWork implements devices.LiftWorkStore. Each contract is planned
// in its own transaction that first locks the contract row, so concurrent
// runs (and reports being filed) take turns per lift; task inserts are
// also guarded by the (kind, elevator, due_on) key and events by their
// dedup keys.
func (s *Store) PlanLiftWork(ctx context.Context, now time.Time, horizonDays int) (devices.LiftWorkReport, error) {
	var rep devices.LiftWorkReport
	now = now.UTC()
	// Candidates: contracts not ended before yesterday in UTC (a venue's
	// today is within a day of UTC's), or that still hold open tasks.
	yesterday := calendarDate(now.AddDate(0, 0, -1).Format(dateLayout))
	var cands []liftContract
	if err := s.db.WithContext(ctx).Table("maintenance_contracts AS maintenance_contracts").
		Select("maintenance_contracts.id, v.time_zone").Joins("JOIN venues v ON v.id = maintenance_contracts.venue_id").
		Where("maintenance_contracts.ends_on IS NULL OR maintenance_contracts.ends_on >= ? OR maintenance_contracts.id IN (?)", yesterday,
			s.db.Model(&liftTaskRow{}).Select("contract_id").Where("state = ?", string(devices.LiftTaskOpen))).
		Order("maintenance_contracts.id").Find(&cands).Error; err != nil {
		return rep, fmt.Errorf("lift contracts: %w", err)
	}
	zones := zoneCache{}
	for _, c := range cands {
		if err := s.planContract(ctx, c.ID, zones.get(c.TimeZone), now, horizonDays, &rep); err != nil {
			return rep, fmt.Errorf("plan contract %s: %w", c.ID, err)
		}
	}
	if err := s.remindInspections(ctx, now, zones, &rep); err != nil {
		return rep, fmt.Errorf("inspection reminders: %w", err)
	}
	return rep, nil
}

// liftPlan is one contract's planning step; counts go to rep only when the
// transaction commits.
type liftPlan struct {
	s     *Store
	tx    *gorm.DB
	c     devices.MaintenanceContract
	now   time.Time
	today string
	lift  string // the lift's registration code, for messages
	rep   devices.LiftWorkReport
}

func (s *Store) planContract(ctx context.Context, id string, loc *time.Location, now time.Time, horizonDays int, rep *devices.LiftWorkReport) error {
	var done devices.LiftWorkReport
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var row contractRow
		err := s.forUpdate(tx).Where("id = ?", id).Take(&row).Error
		if err != nil {
			return err
		}
		p := &liftPlan{s: s, tx: tx, c: row.toContract(), now: now, today: now.In(loc).Format(dateLayout)}
		if p.lift, err = liftName(tx, p.c.ElevatorID); err != nil {
			return err
		}
		open, err := p.openTasks()
		if err != nil {
			return err
		}
		open, err = p.markLate(open)
		if err != nil {
			return err
		}
		if p.c.EndsOn != "" && p.c.EndsOn < p.today {
			for _, t := range open {
				if err := p.close(t, devices.LiftTaskCancelled, "the contract ended on "+p.c.EndsOn); err != nil {
					return err
				}
			}
			done = p.rep
			return nil
		}
		if p.c.StartsOn <= p.today {
			p.rep.Contracts++
		}
		if err := p.plan(open, loc, addDays(p.today, horizonDays)); err != nil {
			return err
		}
		done = p.rep
		return nil
	})
	if err == nil {
		rep.Contracts += done.Contracts
		rep.Created += done.Created
		rep.Moved += done.Moved
		rep.Cancelled += done.Cancelled
		rep.Overdue += done.Overdue
		rep.Missed += done.Missed
		rep.EventsRaised += done.EventsRaised
	}
	return err
}

func addDays(day string, n int) string {
	t, err := time.Parse(dateLayout, day)
	if err != nil {
		return day
	}
	return t.AddDate(0, 0, n).Format(dateLayout)
}

func (p *liftPlan) openTasks() ([]liftTaskRow, error) {
	var open []liftTaskRow
	err := p.tx.Where("contract_id = ? AND state = ?", p.c.ID, string(devices.LiftTaskOpen)).Order("id").Find(&open).Error
	return open, err
}

// markLate raises maintenance_overdue for on-site tasks past their day
// (once per task and day) and marks remote tasks past their day missed;
// it returns the tasks still open.
func (p *liftPlan) markLate(open []liftTaskRow) ([]liftTaskRow, error) {
	var still []liftTaskRow
	for _, t := range open {
		if string(t.DueOn) >= p.today {
			still = append(still, t)
			continue
		}
		if t.Kind == string(devices.LiftTaskRemote) {
			if err := p.close(t, devices.LiftTaskMissed, t.Why+"; missed: no remote inspection was reported by "+string(t.DueOn)); err != nil {
				return nil, err
			}
			p.rep.Missed++
			if err := p.event(devices.EventRemoteInspectionMissed, devices.SeverityWarning, devices.EventResourceLiftTask, t.ID,
				fmt.Sprintf("The remote inspection of lift %s due on %s was not reported", p.lift, t.DueOn),
				string(devices.EventRemoteInspectionMissed)+":"+t.ID); err != nil {
				return nil, err
			}
			continue
		}
		if t.OverdueSince == nil {
			res := p.tx.Model(&liftTaskRow{}).Where("id = ? AND overdue_since IS NULL", t.ID).UpdateColumn("overdue_since", p.now)
			if res.Error != nil {
				return nil, res.Error
			}
			p.rep.Overdue += int(res.RowsAffected)
			t.OverdueSince = &p.now
		}
		sev := devices.SeverityWarning
		if t.Kind == string(devices.LiftTaskUrgentOnSite) {
			sev = devices.SeverityCritical
		}
		if err := p.event(devices.EventMaintenanceOverdue, sev, devices.EventResourceLiftTask, t.ID,
			fmt.Sprintf("The %s maintenance (%s) of lift %s was due on %s and is not reported", strings.ReplaceAll(t.Kind, "_", " "),
				t.Category, p.lift, t.DueOn),
			string(devices.EventMaintenanceOverdue)+":"+t.ID+":"+string(t.DueOn)); err != nil {
			return nil, err
		}
		still = append(still, t)
	}
	return still, nil
}

// event raises one event about the contract's lift to its venue operator
// (and thereby the regulator).
func (p *liftPlan) event(kind devices.EventKind, sev devices.Severity, resource, id, msg, dedup string) error {
	n, err := p.s.raiseIn(p.tx, []eventRow{liftEvent(p.s.now(), p.c.OperatorOrgID, p.c.VenueID, kind, sev, resource, id, msg, dedup)})
	p.rep.EventsRaised += n
	return err
}

func liftEvent(at time.Time, operator, venue string, kind devices.EventKind, sev devices.Severity, resource, id, msg, dedup string) eventRow {
	return eventRow{ID: newID(), At: at, Kind: string(kind), Severity: string(sev), OperatorOrgID: &operator, VenueID: &venue,
		Resource: resource, ResourceID: id, Message: msg, DedupKey: dedup}
}

// close moves an open task to a final state.
func (p *liftPlan) close(t liftTaskRow, to devices.LiftTaskState, why string) error {
	res := p.tx.Model(&liftTaskRow{}).Where("id = ? AND state = ?", t.ID, string(devices.LiftTaskOpen)).Updates(map[string]any{
		"state": string(to), "why": why, "version": gorm.Expr("version + 1"), "updated_at": p.s.now()})
	if res.Error == nil && to == devices.LiftTaskCancelled {
		p.rep.Cancelled += int(res.RowsAffected)
	}
	return res.Error
}

// plan creates, moves or cancels the contract's open on-site and remote
// tasks by the due-date engine.
func (p *liftPlan) plan(open []liftTaskRow, loc *time.Location, horizonEnd string) error {
	reports, err := p.s.liftReports(p.tx, p.c.ElevatorID)
	if err != nil {
		return err
	}
	var ags []agreementRow
	if err := p.tx.Where("contract_id = ?", p.c.ID).Find(&ags).Error; err != nil {
		return err
	}
	agreements := make([]devices.CycleAgreement, len(ags))
	for i, r := range ags {
		agreements[i] = r.toAgreement()
	}
	h, carried := devices.LiftHistory(reports, loc)
	onsite, remote := findOpen(open, devices.LiftTaskOnSite), findOpen(open, devices.LiftTaskRemote)

	due, ok := devices.NextOnSite(p.c, agreements, h)
	if !ok {
		if onsite != nil {
			if err := p.close(*onsite, devices.LiftTaskCancelled, "no on-site maintenance falls due within the contract"); err != nil {
				return err
			}
		}
	} else {
		var agID *string
		if h.LastOnSite >= p.c.StartsOn {
			agID = optionalID(devices.CycleOn(p.c, agreements, h.LastOnSite).AgreementID)
		}
		want := liftTaskRow{Kind: string(devices.LiftTaskOnSite), AgreementID: agID, Category: string(due.Category),
			DueOn: calendarDate(due.Day), Why: due.Why, CarriedItems: joinCodes(carried)}
		if err := p.upsert(onsite, want, horizonEnd); err != nil {
			return err
		}
	}

	day, agID, rok := "", "", false
	if ok {
		day, agID, rok = devices.NextRemoteFrom(p.c, agreements, h, due.Day, p.today)
	}
	if !rok {
		if remote != nil {
			return p.close(*remote, devices.LiftTaskCancelled, "no remote inspection is due any more: no accepted agreement asks for one before the next on-site visit")
		}
		return nil
	}
	why := fmt.Sprintf("remote inspection under agreement %s, %s after the last check", agID, lastCheck(h))
	want := liftTaskRow{Kind: string(devices.LiftTaskRemote), AgreementID: optionalID(agID), Category: string(devices.CategoryHalfMonthly),
		DueOn: calendarDate(day), Why: why}
	return p.upsert(remote, want, horizonEnd)
}

func lastCheck(h devices.MaintenanceHistory) string {
	if h.LastChecked > h.LastOnSite {
		return "the interval agreed, counted from " + h.LastChecked
	}
	return "the interval agreed, counted from " + h.LastOnSite
}

func optionalID(id string) *string {
	if id == "" {
		return nil
	}
	return &id
}

func findOpen(open []liftTaskRow, kind devices.LiftTaskKind) *liftTaskRow {
	for i := range open {
		if open[i].Kind == string(kind) {
			return &open[i]
		}
	}
	return nil
}

func sameID(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// upsert makes the open task of want's kind look like want: it moves an
// open one, or creates one when want falls due within the horizon.
func (p *liftPlan) upsert(cur *liftTaskRow, want liftTaskRow, horizonEnd string) error {
	if cur != nil {
		if cur.DueOn == want.DueOn && cur.Category == want.Category && cur.Why == want.Why && cur.CarriedItems == want.CarriedItems &&
			sameID(cur.AgreementID, want.AgreementID) {
			return nil
		}
		fields := map[string]any{"due_on": want.DueOn, "category": want.Category, "why": want.Why, "carried_items": want.CarriedItems,
			"agreement_id": want.AgreementID, "version": gorm.Expr("version + 1"), "updated_at": p.s.now()}
		if string(want.DueOn) >= p.today {
			fields["overdue_since"] = nil
		}
		if err := p.tx.Model(&liftTaskRow{}).Where("id = ?", cur.ID).Updates(fields).Error; err != nil {
			return translate(err, "maintenance task")
		}
		if cur.DueOn != want.DueOn || cur.Category != want.Category || !sameID(cur.AgreementID, want.AgreementID) {
			p.rep.Moved++
		}
		return nil
	}
	if string(want.DueOn) > horizonEnd {
		return nil
	}
	want.ContractID, want.ElevatorID, want.VenueID = p.c.ID, p.c.ElevatorID, p.c.VenueID
	want.OperatorOrgID, want.FirmOrgID = p.c.OperatorOrgID, p.c.FirmOrgID
	created, err := p.s.openTask(p.tx, &want)
	if created {
		p.rep.Created++
	}
	return err
}

// openTask inserts an open task, or reopens a cancelled one holding the
// same (kind, elevator, due_on) key; another task that already holds the
// key wins (a concurrent run made it). It reports whether a row was
// inserted or reopened.
func (s *Store) openTask(tx *gorm.DB, t *liftTaskRow) (bool, error) {
	now := s.now()
	t.ID, t.State, t.Version, t.CreatedAt, t.UpdatedAt = newID(), string(devices.LiftTaskOpen), 1, now, now
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(t)
	if res.Error != nil {
		return false, translate(res.Error, "maintenance task")
	}
	if res.RowsAffected == 1 {
		return true, nil
	}
	var held liftTaskRow
	if err := tx.Where("kind = ? AND elevator_id = ? AND due_on = ?", t.Kind, t.ElevatorID, t.DueOn).Take(&held).Error; err != nil {
		return false, err
	}
	t.ID = held.ID
	if held.State != string(devices.LiftTaskCancelled) {
		return false, nil
	}
	res = tx.Model(&liftTaskRow{}).Where("id = ? AND state = ?", held.ID, held.State).Updates(map[string]any{
		"state": t.State, "contract_id": t.ContractID, "agreement_id": t.AgreementID, "category": t.Category, "why": t.Why,
		"carried_items": t.CarriedItems, "source_report_id": t.SourceReportID, "overdue_since": nil,
		"version": gorm.Expr("version + 1"), "updated_at": now})
	return res.RowsAffected == 1, res.Error
}

// liftName is a lift's registration code.
func liftName(q *gorm.DB, elevatorID string) (string, error) {
	var code string
	err := q.Model(&elevatorRow{}).Where("id = ?", elevatorID).Pluck("registration_code", &code).Error
	return code, err
}

// liftReports loads a lift's reports in the order they were performed.
func (s *Store) liftReports(q *gorm.DB, elevatorID string) ([]devices.MaintenanceReport, error) {
	var rows []reportRow
	if err := q.Where("elevator_id = ?", elevatorID).Order("performed_at, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]devices.MaintenanceReport, len(rows))
	for i, r := range rows {
		out[i] = r.toReport()
	}
	return out, nil
}

// liftInspection is a lift the inspection reminder looks at.
type liftInspection struct {
	ID                string
	VenueID           string
	OperatorOrgID     string
	RegistrationCode  string
	CommissioningDate time.Time
	TimeZone          string
}

// remindInspections raises inspection_due for every lift in use whose
// next periodic inspection is at most InspectionReminderDays away, once
// per lift and inspection day.
func (s *Store) remindInspections(ctx context.Context, now time.Time, zones zoneCache, rep *devices.LiftWorkReport) error {
	var lifts []liftInspection
	if err := s.db.WithContext(ctx).Table("elevators AS e").
		Select("e.id, e.venue_id, e.operator_org_id, e.registration_code, e.commissioning_date, v.time_zone").
		Joins("JOIN venues v ON v.id = e.venue_id").
		Where("e.status <> ? AND e.commissioning_date IS NOT NULL", string(devices.ElevatorRetired)).Order("e.id").Find(&lifts).Error; err != nil {
		return err
	}
	var events []eventRow
	stamp := s.now()
	for _, l := range lifts {
		today, _ := time.Parse(dateLayout, now.In(zones.get(l.TimeZone)).Format(dateLayout))
		next := devices.NextPeriodicInspection(l.CommissioningDate, today)
		if next.IsZero() || next.Sub(today) > devices.InspectionReminderDays*24*time.Hour {
			continue
		}
		day := next.Format(dateLayout)
		events = append(events, liftEvent(stamp, l.OperatorOrgID, l.VenueID, devices.EventInspectionDue, devices.SeverityInfo,
			devices.EventResourceElevator, l.ID,
			fmt.Sprintf("Lift %s is due for its periodic inspection (TSG T7001) on %s: apply to the inspection body at least a month ahead",
				l.RegistrationCode, day),
			string(devices.EventInspectionDue)+":"+l.ID+":"+day))
	}
	n, err := s.raise(ctx, events)
	rep.EventsRaised += n
	return err
}

// ---- tasks ----------------------------------------------------------------

// GetLiftTask implements devices.LiftWorkStore.
func (s *Store) GetLiftTask(ctx context.Context, a devices.Actor, id string) (devices.LiftTask, error) {
	if !devices.IsUUID(id) {
		return devices.LiftTask{}, fmt.Errorf("maintenance task %q: %w", id, devices.ErrNotFound)
	}
	var row liftTaskRow
	err := s.db.WithContext(ctx).Scopes(partyScope("maintenance_tasks", a)).Where("maintenance_tasks.id = ?", strings.ToLower(id)).Take(&row).Error
	return row.toLiftTask(), translate(err, "maintenance task")
}

// ListLiftTasks implements devices.LiftWorkStore.
func (s *Store) ListLiftTasks(ctx context.Context, a devices.Actor, f devices.LiftTaskFilter, p devices.Page) ([]devices.LiftTask, string, error) {
	q := s.db.WithContext(ctx).Model(&liftTaskRow{}).Scopes(partyScope("maintenance_tasks", a))
	if f.ElevatorID != "" {
		q = q.Where("maintenance_tasks.elevator_id = ?", f.ElevatorID)
	}
	if f.Kind != "" {
		q = q.Where("maintenance_tasks.kind = ?", string(f.Kind))
	}
	if f.State != "" {
		q = q.Where("maintenance_tasks.state = ?", string(f.State))
	}
	return listRows(q, "maintenance_tasks", p, func(r liftTaskRow) string { return r.ID }, liftTaskRow.toLiftTask)
}
