package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
)

// reportContract finds the contract under which a firm may report on a
// lift today and locks it, so the filing and the lifts job take turns.
// ErrNotFound when the actor sees neither the lift nor a contract of it;
// ErrForbidden for anyone but the firm under contract, and for a firm whose
// contract ended; a ValidationError on elevator_id when nobody maintains
// the lift under contract today.
func (s *Store) reportContract(tx *gorm.DB, a devices.Actor, elevatorID string) (contractRow, string, error) {
	var mine []contractRow
	if err := tx.Scopes(partyScope("maintenance_contracts", a)).Where("maintenance_contracts.elevator_id = ?", elevatorID).
		Order("maintenance_contracts.starts_on").Find(&mine).Error; err != nil {
		return contractRow{}, "", err
	}
	venueID := ""
	if len(mine) > 0 {
		venueID = mine[0].VenueID
	} else {
		lift, err := s.getElevator(tx, a, elevatorID)
		if err != nil {
			return contractRow{}, "", err
		}
		venueID = lift.VenueID
	}
	if a.OrgKind != devices.KindMaintenanceFirm {
		return contractRow{}, "", devices.Forbidden("only the maintenance firm under contract for the lift files its reports")
	}
	today, err := s.today(venueID, tx)
	if err != nil {
		return contractRow{}, "", err
	}
	for _, c := range mine {
		if c.toContract().ActiveOn(today) {
			var locked contractRow
			err := s.forUpdate(tx).Where("id = ?", c.ID).Take(&locked).Error
			return locked, today, err
		}
	}
	if n := len(mine); n > 0 {
		last := mine[n-1].toContract()
		if last.EndsOn != "" && last.EndsOn < today {
			return contractRow{}, "", devices.Forbidden("your maintenance contract for this lift ended on " + last.EndsOn +
				"; an ended contract takes no new records")
		}
		return contractRow{}, "", devices.Forbidden("your maintenance contract for this lift starts on " + mine[0].toContract().StartsOn)
	}
	var others int64
	if err := tx.Model(&contractRow{}).Where("elevator_id = ? AND starts_on <= ? AND (ends_on IS NULL OR ends_on >= ?)",
		elevatorID, calendarDate(today), calendarDate(today)).Count(&others).Error; err != nil {
		return contractRow{}, "", err
	}
	if others > 0 {
		return contractRow{}, "", devices.Forbidden("another firm maintains this lift under contract")
	}
	return contractRow{}, "", devices.Invalid("elevator_id",
		"the lift is not under a maintenance contract today: its venue operator contracts a firm first (POST /api/v1/contracts)")
}

// FileReport implements devices.LiftWorkStore. Everything the report
// triggers is written in its transaction, or nothing is.
func (s *Store) FileReport(ctx context.Context, a devices.Actor, r *devices.MaintenanceReport) error {
	if !devices.IsUUID(r.ElevatorID) {
		return devices.Invalid("elevator_id", "must be a UUID")
	}
	r.ElevatorID = strings.ToLower(r.ElevatorID)
	return s.once(ctx, a, devices.ResourceMaintenanceReport, func(tx *gorm.DB) (outcome, error) {
		row, today, err := s.reportContract(tx, a, r.ElevatorID)
		if err != nil {
			return outcome{}, err
		}
		now := s.now()
		if err := r.Validate(now); err != nil {
			return outcome{}, err
		}
		f := &filing{s: s, tx: tx, a: a, c: row.toContract(), r: r, now: now, today: today}
		if err := f.file(); err != nil {
			return outcome{}, err
		}
		return outcome{id: r.ID}, nil
	})
}

// filing is one report being filed.
type filing struct {
	s     *Store
	tx    *gorm.DB
	a     devices.Actor
	c     devices.MaintenanceContract
	r     *devices.MaintenanceReport
	now   time.Time
	today string
	loc   *time.Location
	lift  string // registration code, for messages
	ags   []agreementRow
}

func (f *filing) file() error {
	r, c := f.r, f.c
	var zone string
	if err := f.tx.Model(&venueRow{}).Where("id = ?", c.VenueID).Pluck("time_zone", &zone).Error; err != nil {
		return err
	}
	f.loc = f.s.zone(zone)
	lift, err := liftName(f.tx, c.ElevatorID)
	if err != nil {
		return err
	}
	if err := f.tx.Where("contract_id = ?", c.ID).Order("id").Find(&f.ags).Error; err != nil {
		return err
	}
	f.lift = lift
	task, err := f.task()
	if err != nil {
		return err
	}
	r.ID, r.ContractID, r.VenueID, r.OperatorOrgID, r.FirmOrgID = newID(), c.ID, c.VenueID, c.OperatorOrgID, c.FirmOrgID
	r.SubmittedAt, r.PerformedAt = f.now, r.PerformedAt.UTC()
	r.TaskID, r.AgreementID, r.UrgentTaskID, r.CarriedOver = nil, nil, nil, nil
	if task != nil {
		r.TaskID = &task.ID
	}
	agreements := make([]devices.CycleAgreement, len(f.ags))
	for i, g := range f.ags {
		agreements[i] = g.toAgreement()
	}
	governing := devices.CycleOn(c, agreements, f.today).AgreementID
	r.AgreementID = optionalID(governing)
	if r.Kind == devices.ReportRemote {
		r.CarriedOver = r.NotCheckable()
	}
	if err := f.insert(); err != nil {
		return err
	}
	if task != nil {
		if err := f.closeTask(task.ID, "completed by report "+r.ID); err != nil {
			return err
		}
	}
	if r.Kind == devices.ReportRemote {
		if err := f.carryOver(); err != nil {
			return err
		}
		if failed := r.Failed(); len(failed) > 0 {
			if err := f.urgent(failed, governing); err != nil {
				return err
			}
			// The report row went in before the task it caused.
			if err := f.tx.Model(&reportRow{}).Where("id = ?", r.ID).Update("urgent_task_id", *r.UrgentTaskID).Error; err != nil {
				return err
			}
		}
	} else if len(r.Failed()) == 0 {
		if err := f.clear(); err != nil {
			return err
		}
	}
	changes := created(map[string]any{"kind": string(r.Kind), "elevator_id": r.ElevatorID, "category": string(r.Category),
		"performed_at": r.PerformedAt, "items": len(r.Items), "evidence": len(r.Evidence)})
	if r.UrgentTaskID != nil {
		changes["urgent_task_id"] = devices.Change{To: *r.UrgentTaskID}
	}
	return f.s.audit(f.tx, f.a, devices.ActionCreate, devices.ResourceMaintenanceReport, r.ID, changes)
}

// task is the open task the report completes: the one named, or the
// earliest open one of the matching kind (none is fine: a visit nobody
// planned is still reported).
func (f *filing) task() (*liftTaskRow, error) {
	var t liftTaskRow
	if f.r.TaskID != nil && *f.r.TaskID != "" {
		id := strings.ToLower(*f.r.TaskID)
		if !devices.IsUUID(id) || f.tx.Where("id = ? AND contract_id = ?", id, f.c.ID).Take(&t).Error != nil {
			return nil, devices.Invalid("task_id", "is not a task of this lift under your contract")
		}
		if t.State != string(devices.LiftTaskOpen) {
			return nil, devices.Invalid("task_id", "the task is "+t.State+", not open")
		}
		if !devices.LiftTaskKind(t.Kind).Completes(f.r.Kind) {
			return nil, devices.Invalid("task_id", fmt.Sprintf("a %s report does not complete a %s task", f.r.Kind, t.Kind))
		}
		return &t, nil
	}
	kind := devices.LiftTaskOnSite
	if f.r.Kind == devices.ReportRemote {
		kind = devices.LiftTaskRemote
	}
	err := f.tx.Where("contract_id = ? AND kind = ? AND state = ?", f.c.ID, string(kind), string(devices.LiftTaskOpen)).
		Order("due_on, id").Take(&t).Error
	if isNotFound(translate(err, "task")) {
		return nil, nil
	}
	return &t, err
}

func (f *filing) insert() error {
	r := f.r
	by := actorRef(f.a)
	row := reportRow{ID: r.ID, Kind: string(r.Kind), TaskID: r.TaskID, ContractID: r.ContractID, ElevatorID: r.ElevatorID,
		VenueID: r.VenueID, OperatorOrgID: r.OperatorOrgID, FirmOrgID: r.FirmOrgID, AgreementID: r.AgreementID,
		Category: string(r.Category), PerformedAt: r.PerformedAt, Technician: r.Technician, VenuePerson: r.VenuePerson,
		Notes: r.Notes, SubmittedAt: r.SubmittedAt, SubmittedBy: by, CarriedOver: joinCodes(r.CarriedOver), Version: 1}
	if err := f.tx.Create(&row).Error; err != nil {
		return translate(err, "maintenance report")
	}
	if len(r.Items) > 0 {
		items := make([]reportItemRow, len(r.Items))
		for i, it := range r.Items {
			items[i] = reportItemRow{ReportID: r.ID, Ordinal: i, Code: it.Code, Result: string(it.Result), Note: it.Note}
		}
		if err := f.tx.CreateInBatches(items, f.s.insertBatch()).Error; err != nil {
			return err
		}
	}
	if len(r.Evidence) > 0 {
		ev := make([]evidenceRow, len(r.Evidence))
		for i, e := range r.Evidence {
			ev[i] = evidenceRow{ReportID: r.ID, Ordinal: i, URL: e.URL, SHA256: e.SHA256, DurationS: e.DurationSeconds,
				CapturedAt: e.CapturedAt.UTC()}
		}
		if err := f.tx.CreateInBatches(ev, f.s.insertBatch()).Error; err != nil {
			return err
		}
	}
	return nil
}

func (f *filing) closeTask(id, why string) error {
	return f.tx.Model(&liftTaskRow{}).Where("id = ? AND state = ?", id, string(devices.LiftTaskOpen)).Updates(map[string]any{
		"state": string(devices.LiftTaskCompleted), "why": gorm.Expr("why || ?", "; "+why), "version": gorm.Expr("version + 1"),
		"updated_at": f.now}).Error
}

// carryOver adds the items a remote inspection could not check to the
// open on-site task.
func (f *filing) carryOver() error {
	if len(f.r.CarriedOver) == 0 {
		return nil
	}
	var t liftTaskRow
	err := f.tx.Where("contract_id = ? AND kind = ? AND state = ?", f.c.ID, string(devices.LiftTaskOnSite), string(devices.LiftTaskOpen)).
		Order("due_on, id").Take(&t).Error
	if isNotFound(translate(err, "task")) {
		return nil // the next on-site task takes them from the report when the lifts job creates it
	}
	if err != nil {
		return err
	}
	return f.tx.Model(&liftTaskRow{}).Where("id = ?", t.ID).Updates(map[string]any{
		"carried_items": joinCodes(devices.MergeItems(splitCodes(t.CarriedItems), f.r.CarriedOver)),
		"version":       gorm.Expr("version + 1"), "updated_at": f.now}).Error
}

// urgent follows a failed remote check: an urgent on-site task (the open
// one, or a new one due on the local day urgent hours after the check), a
// critical lift_check_failed event and the suspension of the agreement in
// force.
func (f *filing) urgent(failed []string, governing string) error {
	r, c := f.r, f.c
	why := fmt.Sprintf("remote inspection %s found not ok: %s", r.ID, strings.Join(failed, ", "))
	var t liftTaskRow
	err := f.tx.Where("contract_id = ? AND kind = ? AND state = ?", c.ID, string(devices.LiftTaskUrgentOnSite), string(devices.LiftTaskOpen)).
		Order("due_on, id").Take(&t).Error
	switch {
	case err == nil:
		if err := f.tx.Model(&liftTaskRow{}).Where("id = ?", t.ID).Updates(map[string]any{
			"carried_items": joinCodes(devices.MergeItems(splitCodes(t.CarriedItems), failed)), "why": t.Why + "; " + why,
			"version": gorm.Expr("version + 1"), "updated_at": f.now}).Error; err != nil {
			return err
		}
	case isNotFound(translate(err, "task")):
		due := r.PerformedAt.Add(f.s.urgent).In(f.loc).Format(dateLayout)
		if due < f.today {
			due = f.today
		}
		for {
			t = liftTaskRow{Kind: string(devices.LiftTaskUrgentOnSite), ContractID: c.ID, ElevatorID: c.ElevatorID, VenueID: c.VenueID,
				OperatorOrgID: c.OperatorOrgID, FirmOrgID: c.FirmOrgID, AgreementID: optionalID(governing),
				Category: string(devices.CategoryHalfMonthly), DueOn: calendarDate(due), Why: why, CarriedItems: joinCodes(failed),
				SourceReportID: &r.ID}
			made, err := f.s.openTask(f.tx, &t)
			if err != nil {
				return err
			}
			if made {
				break
			}
			// An urgent task of that day was done already: the next free day.
			due = addDays(due, 1)
		}
	default:
		return err
	}
	r.UrgentTaskID = &t.ID
	events := []eventRow{liftEvent(f.now, c.OperatorOrgID, c.VenueID, devices.EventLiftCheckFailed, devices.SeverityCritical,
		devices.EventResourceReport, r.ID, fmt.Sprintf("Remote inspection of lift %s on %s found not ok: %s; on-site visit due by %s",
			f.lift, r.PerformedAt.In(f.loc).Format("2006-01-02 15:04"), strings.Join(failed, ", "), t.DueOn),
		string(devices.EventLiftCheckFailed)+":"+r.ID)}
	if governing != "" {
		reason := "remote inspection " + r.ID + " found not ok: " + strings.Join(failed, ", ")
		if err := f.moveAgreement(governing, devices.AgreementSuspend, reason); err != nil {
			return err
		}
		events = append(events, liftEvent(f.now, c.OperatorOrgID, c.VenueID, devices.EventAgreementSuspended, devices.SeverityWarning,
			devices.EventResourceAgreement, governing, fmt.Sprintf("Extended-cycle agreement %s for lift %s is suspended until an on-site visit clears the lift (%s)",
				governing, f.lift, reason), string(devices.EventAgreementSuspended)+":"+governing+":"+r.ID))
	}
	_, err = f.s.raiseIn(f.tx, events)
	return err
}

// moveAgreement suspends or reinstates an agreement of the contract.
func (f *filing) moveAgreement(id string, e devices.AgreementEvent, reason string) error {
	for _, g := range f.ags {
		if g.ID != id {
			continue
		}
		to, err := devices.AgreementState(g.State).Next(e)
		if err != nil {
			return err
		}
		if err := f.tx.Model(&agreementRow{}).Where("id = ? AND state = ?", g.ID, g.State).Updates(map[string]any{
			"state": string(to), "state_reason": reason, "version": gorm.Expr("version + 1"), "updated_at": f.now}).Error; err != nil {
			return err
		}
		f.r.AgreementID, f.r.AgreementState = &g.ID, to
		return f.s.audit(f.tx, f.a, string(e), devices.ResourceAgreement, g.ID, devices.Changes{
			"state": {From: g.State, To: string(to)}, "state_reason": {From: g.StateReason, To: reason}})
	}
	return fmt.Errorf("agreement %s: %w", id, devices.ErrNotFound)
}

// clear follows an on-site report with every item ok: the lift is
// cleared, so suspended agreements of the contract are reinstated and open
// urgent tasks complete.
func (f *filing) clear() error {
	for _, g := range f.ags {
		if g.State == string(devices.AgreementSuspended) {
			if err := f.moveAgreement(g.ID, devices.AgreementReinstate, "on-site report "+f.r.ID+" cleared the lift"); err != nil {
				return err
			}
		}
	}
	var open []liftTaskRow
	if err := f.tx.Where("contract_id = ? AND kind = ? AND state = ?", f.c.ID, string(devices.LiftTaskUrgentOnSite),
		string(devices.LiftTaskOpen)).Find(&open).Error; err != nil {
		return err
	}
	for _, t := range open {
		if err := f.closeTask(t.ID, "cleared by on-site report "+f.r.ID); err != nil {
			return err
		}
	}
	return nil
}

// ---- reading reports ------------------------------------------------------

func (s *Store) getReport(q *gorm.DB, a devices.Actor, id string) (reportRow, error) {
	return takeVisible[reportRow](q, partyScope("maintenance_reports", a), "maintenance_reports", "maintenance report", strings.ToLower(id))
}

// withReportDetails fills the reports' items, evidence and the current
// state of the agreement each names.
func withReportDetails(q *gorm.DB, rs []devices.MaintenanceReport) ([]devices.MaintenanceReport, error) {
	if len(rs) == 0 {
		return rs, nil
	}
	ids := make([]string, len(rs))
	var agIDs []string
	at := map[string]int{}
	for i, r := range rs {
		ids[i], at[r.ID] = r.ID, i
		if r.AgreementID != nil {
			agIDs = append(agIDs, *r.AgreementID)
		}
	}
	var items []reportItemRow
	if err := q.Where("report_id IN ?", ids).Order("report_id, ordinal").Find(&items).Error; err != nil {
		return nil, err
	}
	for _, it := range items {
		r := &rs[at[it.ReportID]]
		r.Items = append(r.Items, devices.ItemCheck{Code: it.Code, Result: devices.ItemResult(it.Result), Note: it.Note})
	}
	var ev []evidenceRow
	if err := q.Where("report_id IN ?", ids).Order("report_id, ordinal").Find(&ev).Error; err != nil {
		return nil, err
	}
	for _, e := range ev {
		r := &rs[at[e.ReportID]]
		r.Evidence = append(r.Evidence, devices.Evidence{URL: e.URL, SHA256: e.SHA256, DurationSeconds: e.DurationS,
			CapturedAt: e.CapturedAt.UTC()})
	}
	if len(agIDs) > 0 {
		var states []struct{ ID, State string }
		if err := q.Model(&agreementRow{}).Select("id, state").Where("id IN ?", agIDs).Find(&states).Error; err != nil {
			return nil, err
		}
		stateOf := map[string]string{}
		for _, st := range states {
			stateOf[st.ID] = st.State
		}
		for i, r := range rs {
			if r.AgreementID != nil {
				rs[i].AgreementState = devices.AgreementState(stateOf[*r.AgreementID])
			}
		}
	}
	return rs, nil
}

// GetReport implements devices.LiftWorkStore.
func (s *Store) GetReport(ctx context.Context, a devices.Actor, id string) (devices.MaintenanceReport, error) {
	q := s.db.WithContext(ctx)
	row, err := s.getReport(q, a, id)
	if err != nil {
		return devices.MaintenanceReport{}, err
	}
	out, err := withReportDetails(q, []devices.MaintenanceReport{row.toReport()})
	if err != nil {
		return devices.MaintenanceReport{}, err
	}
	return out[0], nil
}

// ListReports implements devices.LiftWorkStore.
func (s *Store) ListReports(ctx context.Context, a devices.Actor, f devices.ReportFilter, p devices.Page) ([]devices.MaintenanceReport, string, error) {
	q := s.db.WithContext(ctx).Model(&reportRow{}).Scopes(partyScope("maintenance_reports", a))
	if f.ElevatorID != "" {
		q = q.Where("maintenance_reports.elevator_id = ?", f.ElevatorID)
	}
	if f.Kind != "" {
		q = q.Where("maintenance_reports.kind = ?", string(f.Kind))
	}
	out, next, err := listRows(q, "maintenance_reports", p, func(r reportRow) string { return r.ID }, reportRow.toReport)
	if err != nil {
		return nil, "", err
	}
	out, err = withReportDetails(s.db.WithContext(ctx), out)
	return out, next, err
}

// CountersignReport implements devices.LiftWorkStore.
func (s *Store) CountersignReport(ctx context.Context, a devices.Actor, id, note string) (devices.MaintenanceReport, error) {
	note = strings.TrimSpace(note)
	if len(note) > 2000 {
		return devices.MaintenanceReport{}, devices.Invalid("note", "must be at most 2000 characters")
	}
	var out devices.MaintenanceReport
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.getReport(s.forUpdate(tx), a, id)
		if err != nil {
			return err
		}
		if !a.CanWriteRegistry() || a.OrgKind != devices.KindVenueOperator || a.OrgID != row.OperatorOrgID {
			return devices.Forbidden("only the lift's venue operator countersigns its maintenance reports")
		}
		if row.CountersignedAt != nil {
			return devices.Conflict("invalid_transition", "the report was countersigned on %s", row.CountersignedAt.UTC().Format(time.RFC3339))
		}
		now, by := s.now(), actorRef(a)
		res := tx.Model(&reportRow{}).Where("id = ? AND countersigned_at IS NULL", row.ID).Updates(map[string]any{
			"countersigned_at": now, "countersigned_by": by, "countersign_note": note, "version": gorm.Expr("version + 1")})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return devices.Conflict("invalid_transition", "the report was countersigned already")
		}
		if err := s.audit(tx, a, devices.ActionCountersign, devices.ResourceMaintenanceReport, row.ID, devices.Changes{
			"countersigned_at": {To: now}, "countersign_note": {To: note}}); err != nil {
			return err
		}
		fresh, err := s.getReport(tx, a, row.ID)
		if err != nil {
			return err
		}
		rs, err := withReportDetails(tx, []devices.MaintenanceReport{fresh.toReport()})
		if err == nil {
			out = rs[0]
		}
		return err
	})
	return out, err
}
