package store

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/migrations"
)

type contractRow struct {
	ID              string
	ElevatorID      string
	VenueID         string
	OperatorOrgID   string
	FirmOrgID       string
	StartsOn        calendarDate
	EndsOn          *calendarDate
	OnsiteCycleDays int
	EndedReason     string
	Version         int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func (contractRow) TableName() string { return "maintenance_contracts" }

func (r contractRow) toContract() devices.MaintenanceContract {
	c := devices.MaintenanceContract{ID: r.ID, ElevatorID: r.ElevatorID, VenueID: r.VenueID, OperatorOrgID: r.OperatorOrgID,
		FirmOrgID: r.FirmOrgID, StartsOn: string(r.StartsOn), OnSiteCycleDays: r.OnsiteCycleDays, EndedReason: r.EndedReason,
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.EndsOn != nil {
		c.EndsOn = string(*r.EndsOn)
	}
	return c
}

type agreementRow struct {
	ID                 string
	ContractID         string
	ElevatorID         string
	VenueID            string
	OperatorOrgID      string
	FirmOrgID          string
	OnsiteCycleDays    int
	RemoteIntervalDays int
	ValidFrom          calendarDate
	ValidTo            calendarDate
	Reason             string
	State              string
	StateReason        string
	Version            int
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

func (agreementRow) TableName() string { return "cycle_agreements" }

func (r agreementRow) toAgreement() devices.CycleAgreement {
	return devices.CycleAgreement{ID: r.ID, ContractID: r.ContractID, ElevatorID: r.ElevatorID, VenueID: r.VenueID,
		OperatorOrgID: r.OperatorOrgID, FirmOrgID: r.FirmOrgID, OnSiteCycleDays: r.OnsiteCycleDays,
		RemoteIntervalDays: r.RemoteIntervalDays, ValidFrom: string(r.ValidFrom), ValidTo: string(r.ValidTo), Reason: r.Reason,
		State: devices.AgreementState(r.State), StateReason: r.StateReason, Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// partyScope: the regulator sees every contract and agreement, the venue
// operator those of its lifts, the firm its own; anyone else none.
func partyScope(table string, a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		switch a.OrgKind {
		case devices.KindRegulator:
			return q
		case devices.KindVenueOperator:
			return q.Where(table+".operator_org_id = ?", a.OrgID)
		case devices.KindMaintenanceFirm:
			return q.Where(table+".firm_org_id = ?", a.OrgID)
		}
		return q.Where("1 = 0")
	}
}

// forUpdate locks the rows a query reads until the transaction ends, on
// PostgreSQL; SQLite has one writer at a time anyway.
func (s *Store) forUpdate(q *gorm.DB) *gorm.DB {
	if s.dialect == migrations.Postgres {
		return q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	return q
}

// today is the calendar date now in a venue's time zone.
func (s *Store) today(venueID string, q *gorm.DB) (string, error) {
	var zone string
	if err := q.Model(&venueRow{}).Where("id = ?", venueID).Pluck("time_zone", &zone).Error; err != nil {
		return "", err
	}
	return s.now().In(s.zone(zone)).Format(dateLayout), nil
}

func (s *Store) getContract(q *gorm.DB, a devices.Actor, id string) (contractRow, error) {
	return takeVisible[contractRow](q, partyScope("maintenance_contracts", a), "maintenance_contracts", "maintenance contract", strings.ToLower(id))
}

// CreateContract implements devices.MaintenanceStore.
func (s *Store) CreateContract(ctx context.Context, a devices.Actor, c *devices.MaintenanceContract) error {
	if err := c.Validate(); err != nil {
		return err
	}
	c.ElevatorID, c.FirmOrgID = strings.ToLower(c.ElevatorID), strings.ToLower(c.FirmOrgID)
	return s.once(ctx, a, devices.ResourceContract, func(tx *gorm.DB) (outcome, error) {
		lift, err := s.getElevator(s.forUpdate(tx), a, c.ElevatorID)
		if err != nil {
			return outcome{}, err
		}
		if !a.CanWriteRegistry() || lift.OperatorOrgID != a.OrgID {
			return outcome{}, devices.Forbidden("only the lift's venue operator contracts a maintenance firm")
		}
		if lift.Status == string(devices.ElevatorRetired) {
			return outcome{}, devices.Invalid("elevator_id", "the lift is retired")
		}
		if reason, err := orgOfKind(tx, c.FirmOrgID, devices.KindMaintenanceFirm); err != nil {
			return outcome{}, err
		} else if reason != "" {
			return outcome{}, devices.Invalid("firm_id", reason)
		}
		var others []contractRow
		if err := tx.Where("elevator_id = ?", lift.ID).Find(&others).Error; err != nil {
			return outcome{}, err
		}
		for _, o := range others {
			oc := o.toContract()
			if spansOverlap(c.StartsOn, c.EndsOn, oc.StartsOn, oc.EndsOn) {
				return outcome{}, devices.Conflict("overlapping_contract", "the lift is under contract %s from %s to %s; end it first",
					oc.ID, oc.StartsOn, orOpen(oc.EndsOn))
			}
		}
		now := s.now()
		c.ID, c.VenueID, c.OperatorOrgID, c.Version, c.CreatedAt, c.UpdatedAt = newID(), lift.VenueID, lift.OperatorOrgID, 1, now, now
		row := contractRow{ID: c.ID, ElevatorID: lift.ID, VenueID: lift.VenueID, OperatorOrgID: lift.OperatorOrgID,
			FirmOrgID: c.FirmOrgID, StartsOn: calendarDate(c.StartsOn), OnsiteCycleDays: c.OnSiteCycleDays, Version: 1,
			CreatedAt: now, UpdatedAt: now}
		if c.EndsOn != "" {
			e := calendarDate(c.EndsOn)
			row.EndsOn = &e
		}
		if err := tx.Create(&row).Error; err != nil {
			return outcome{}, translate(err, "maintenance contract")
		}
		// The firm in charge today maintains (and sees) the lift.
		today, err := s.today(lift.VenueID, tx)
		if err != nil {
			return outcome{}, err
		}
		c.Cycle = devices.CycleOn(*c, nil, today)
		if c.ActiveOn(today) {
			if err := s.setLiftFirm(tx, lift, &c.FirmOrgID, now); err != nil {
				return outcome{}, err
			}
		}
		return outcome{id: c.ID}, s.audit(tx, a, devices.ActionCreate, devices.ResourceContract, c.ID, created(map[string]any{
			"elevator_id": lift.ID, "firm_id": c.FirmOrgID, "starts_on": c.StartsOn, "ends_on": c.EndsOn,
			"onsite_cycle_days": c.OnSiteCycleDays}))
	})
}

// setLiftFirm records the firm in charge on the lift.
func (s *Store) setLiftFirm(tx *gorm.DB, lift elevatorRow, firm *string, now time.Time) error {
	if (firm == nil && lift.MaintenanceFirmID == nil) || (firm != nil && lift.MaintenanceFirmID != nil && *firm == *lift.MaintenanceFirmID) {
		return nil
	}
	return tx.Model(&elevatorRow{}).Where("id = ?", lift.ID).Updates(map[string]any{"maintenance_firm_id": firm,
		"version": gorm.Expr("version + 1"), "updated_at": now}).Error
}

func orOpen(day string) string {
	if day == "" {
		return "open end"
	}
	return day
}

// spansOverlap reports whether two day spans share a day; "" as an end
// is open.
func spansOverlap(aFrom, aTo, bFrom, bTo string) bool {
	return (aTo == "" || bFrom <= aTo) && (bTo == "" || aFrom <= bTo)
}

// GetContract implements devices.MaintenanceStore.
func (s *Store) GetContract(ctx context.Context, a devices.Actor, id string) (devices.MaintenanceContract, error) {
	q := s.db.WithContext(ctx)
	row, err := s.getContract(q, a, id)
	if err != nil {
		return devices.MaintenanceContract{}, err
	}
	out, err := s.withCycles(q, []devices.MaintenanceContract{row.toContract()})
	if err != nil {
		return devices.MaintenanceContract{}, err
	}
	return out[0], nil
}

// withCycles fills each contract's cycle in force today in its venue's
// zone, from its accepted agreements.
func (s *Store) withCycles(q *gorm.DB, cs []devices.MaintenanceContract) ([]devices.MaintenanceContract, error) {
	if len(cs) == 0 {
		return cs, nil
	}
	ids := make([]string, len(cs))
	venues := make([]string, len(cs))
	for i, c := range cs {
		ids[i], venues[i] = c.ID, c.VenueID
	}
	var rows []agreementRow
	if err := q.Where("contract_id IN ? AND state = ?", ids, string(devices.AgreementAccepted)).Find(&rows).Error; err != nil {
		return nil, err
	}
	ags := make([]devices.CycleAgreement, len(rows))
	for i, r := range rows {
		ags[i] = r.toAgreement()
	}
	var zones []struct{ ID, TimeZone string }
	if err := q.Model(&venueRow{}).Select("id, time_zone").Where("id IN ?", venues).Find(&zones).Error; err != nil {
		return nil, err
	}
	zoneOf := map[string]string{}
	for _, z := range zones {
		zoneOf[z.ID] = z.TimeZone
	}
	now := s.now()
	for i := range cs {
		cs[i].Cycle = devices.CycleOn(cs[i], ags, now.In(s.zone(zoneOf[cs[i].VenueID])).Format(dateLayout))
	}
	return cs, nil
}

// ListContracts implements devices.MaintenanceStore.
func (s *Store) ListContracts(ctx context.Context, a devices.Actor, f devices.ContractFilter, p devices.Page) ([]devices.MaintenanceContract, string, error) {
	q := s.db.WithContext(ctx).Model(&contractRow{}).Scopes(partyScope("maintenance_contracts", a))
	if f.ElevatorID != "" {
		q = q.Where("maintenance_contracts.elevator_id = ?", f.ElevatorID)
	}
	if f.VenueID != "" {
		q = q.Where("maintenance_contracts.venue_id = ?", f.VenueID)
	}
	if f.FirmID != "" {
		q = q.Where("maintenance_contracts.firm_org_id = ?", f.FirmID)
	}
	out, next, err := listRows(q, "maintenance_contracts", p, func(r contractRow) string { return r.ID }, contractRow.toContract)
	if err != nil {
		return nil, "", err
	}
	out, err = s.withCycles(s.db.WithContext(ctx), out)
	return out, next, err
}

// listRows pages through q (a scoped, filtered query on table) and
// converts the rows.
func listRows[R, T any](q *gorm.DB, table string, p devices.Page, id func(R) string, conv func(R) T) ([]T, string, error) {
	q, err := pageQuery(q, table, &p, false)
	if err != nil {
		return nil, "", err
	}
	var rows []R
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", translate(err, table)
	}
	rows, next := cutPage(rows, p.Limit, id)
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = conv(r)
	}
	return out, next, nil
}

// EndContract implements devices.MaintenanceStore.
func (s *Store) EndContract(ctx context.Context, a devices.Actor, id string, version int, endsOn, reason string) (devices.MaintenanceContract, error) {
	var out devices.MaintenanceContract
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.getContract(s.forUpdate(tx), a, id)
		if err != nil {
			return err
		}
		if !a.CanWriteRegistry() || row.OperatorOrgID != a.OrgID {
			return devices.Forbidden("only the lift's venue operator ends its maintenance contract")
		}
		if version != devices.AnyVersion && version != row.Version {
			return devices.ErrPreconditionFailed
		}
		c := row.toContract()
		today, err := s.today(c.VenueID, tx)
		if err != nil {
			return err
		}
		reason = strings.TrimSpace(reason)
		var p devices.Problems
		if endsOn == "" {
			endsOn = today
		}
		if _, err := time.Parse(dateLayout, endsOn); err != nil {
			p.Add("ends_on", "must be a date such as 2026-12-31")
		} else if endsOn < c.StartsOn {
			p.Add("ends_on", "must not be before the contract starts ("+c.StartsOn+")")
		}
		if reason == "" {
			p.Add("reason", "say why the contract ends")
		}
		if err := p.Err(); err != nil {
			return err
		}
		if c.EndsOn != "" && c.EndsOn < today {
			return devices.Conflict("invalid_transition", "the contract ended on %s", c.EndsOn)
		}
		now := s.now()
		e := calendarDate(endsOn)
		if err := updateAt(tx, &contractRow{}, row.ID, row.Version, map[string]any{
			"ends_on": &e, "ended_reason": reason, "version": row.Version + 1, "updated_at": now}); err != nil {
			return err
		}
		// Agreements past the new end lose their window.
		if err := tx.Model(&agreementRow{}).Where("contract_id = ? AND state IN ? AND valid_from > ?", row.ID, liveAgreementStates, endsOn).
			Updates(map[string]any{"state": string(devices.AgreementRevoked), "state_reason": "the contract ends on " + endsOn,
				"version": gorm.Expr("version + 1"), "updated_at": now}).Error; err != nil {
			return err
		}
		if err := tx.Model(&agreementRow{}).Where("contract_id = ? AND state IN ? AND valid_to > ?", row.ID, liveAgreementStates, endsOn).
			Updates(map[string]any{"valid_to": e, "version": gorm.Expr("version + 1"), "updated_at": now}).Error; err != nil {
			return err
		}
		if endsOn < today {
			var lift elevatorRow
			if err := tx.Where("id = ?", row.ElevatorID).Take(&lift).Error; err != nil {
				return err
			}
			if lift.MaintenanceFirmID != nil && *lift.MaintenanceFirmID == row.FirmOrgID {
				if err := s.setLiftFirm(tx, lift, nil, now); err != nil {
					return err
				}
			}
		}
		if err := s.audit(tx, a, devices.ActionEnd, devices.ResourceContract, row.ID, devices.Changes{
			"ends_on": {From: c.EndsOn, To: endsOn}, "ended_reason": {To: reason}}); err != nil {
			return err
		}
		fresh, err := s.getContract(tx, a, row.ID)
		if err != nil {
			return err
		}
		cs, err := s.withCycles(tx, []devices.MaintenanceContract{fresh.toContract()})
		if err == nil {
			out = cs[0]
		}
		return err
	})
	return out, err
}

var liveAgreementStates = []string{string(devices.AgreementProposed), string(devices.AgreementAccepted), string(devices.AgreementSuspended)}

func (s *Store) getAgreement(q *gorm.DB, a devices.Actor, id string) (agreementRow, error) {
	return takeVisible[agreementRow](q, partyScope("cycle_agreements", a), "cycle_agreements", "agreement", strings.ToLower(id))
}

// ProposeAgreement implements devices.MaintenanceStore.
func (s *Store) ProposeAgreement(ctx context.Context, a devices.Actor, ag *devices.CycleAgreement) error {
	if !devices.IsUUID(ag.ContractID) {
		return devices.Invalid("contract_id", "must be a UUID")
	}
	return s.once(ctx, a, devices.ResourceAgreement, func(tx *gorm.DB) (outcome, error) {
		row, err := s.getContract(s.forUpdate(tx), a, ag.ContractID)
		if err != nil {
			return outcome{}, err
		}
		if a.OrgKind != devices.KindMaintenanceFirm || row.FirmOrgID != a.OrgID {
			return outcome{}, devices.Forbidden("only the contracted firm proposes an extended cycle")
		}
		c := row.toContract()
		today, err := s.today(c.VenueID, tx)
		if err != nil {
			return outcome{}, err
		}
		if c.EndsOn != "" && c.EndsOn < today {
			return outcome{}, devices.Forbidden("the contract ended on " + c.EndsOn + "; an ended contract takes no new records")
		}
		if err := ag.ValidateProposal(c, s.maxCycle); err != nil {
			return outcome{}, err
		}
		var live []agreementRow
		if err := tx.Where("elevator_id = ? AND state IN ? AND valid_from <= ? AND valid_to >= ?", c.ElevatorID, liveAgreementStates,
			calendarDate(ag.ValidTo), calendarDate(ag.ValidFrom)).Find(&live).Error; err != nil {
			return outcome{}, err
		}
		if len(live) > 0 {
			o := live[0]
			return outcome{}, devices.Conflict("overlapping_agreement", "agreement %s (%s, %s to %s) already covers part of the window",
				o.ID, o.State, o.ValidFrom, o.ValidTo)
		}
		now := s.now()
		ag.ID, ag.ElevatorID, ag.VenueID, ag.OperatorOrgID, ag.FirmOrgID = newID(), c.ElevatorID, c.VenueID, c.OperatorOrgID, c.FirmOrgID
		ag.ContractID, ag.State, ag.StateReason, ag.Version, ag.CreatedAt, ag.UpdatedAt = c.ID, devices.AgreementProposed, "", 1, now, now
		r := agreementRow{ID: ag.ID, ContractID: c.ID, ElevatorID: c.ElevatorID, VenueID: c.VenueID, OperatorOrgID: c.OperatorOrgID,
			FirmOrgID: c.FirmOrgID, OnsiteCycleDays: ag.OnSiteCycleDays, RemoteIntervalDays: ag.RemoteIntervalDays,
			ValidFrom: calendarDate(ag.ValidFrom), ValidTo: calendarDate(ag.ValidTo), Reason: ag.Reason, State: string(ag.State),
			Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&r).Error; err != nil {
			return outcome{}, translate(err, "agreement")
		}
		return outcome{id: ag.ID}, s.audit(tx, a, devices.ActionCreate, devices.ResourceAgreement, ag.ID, created(map[string]any{
			"contract_id": c.ID, "elevator_id": c.ElevatorID, "onsite_cycle_days": ag.OnSiteCycleDays,
			"remote_interval_days": ag.RemoteIntervalDays, "valid_from": ag.ValidFrom, "valid_to": ag.ValidTo, "reason": ag.Reason}))
	})
}

// GetAgreement implements devices.MaintenanceStore.
func (s *Store) GetAgreement(ctx context.Context, a devices.Actor, id string) (devices.CycleAgreement, error) {
	row, err := s.getAgreement(s.db.WithContext(ctx), a, id)
	return row.toAgreement(), err
}

// ListAgreements implements devices.MaintenanceStore.
func (s *Store) ListAgreements(ctx context.Context, a devices.Actor, f devices.AgreementFilter, p devices.Page) ([]devices.CycleAgreement, string, error) {
	q := s.db.WithContext(ctx).Model(&agreementRow{}).Scopes(partyScope("cycle_agreements", a))
	if f.ElevatorID != "" {
		q = q.Where("cycle_agreements.elevator_id = ?", f.ElevatorID)
	}
	if f.ContractID != "" {
		q = q.Where("cycle_agreements.contract_id = ?", f.ContractID)
	}
	if f.State != "" {
		q = q.Where("cycle_agreements.state = ?", string(f.State))
	}
	return listRows(q, "cycle_agreements", p, func(r agreementRow) string { return r.ID }, agreementRow.toAgreement)
}

// ActOnAgreement implements devices.MaintenanceStore.
func (s *Store) ActOnAgreement(ctx context.Context, a devices.Actor, id string, version int, e devices.AgreementEvent, reason string) (devices.CycleAgreement, error) {
	var out devices.CycleAgreement
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.getAgreement(s.forUpdate(tx), a, id)
		if err != nil {
			return err
		}
		switch e {
		case devices.AgreementAccept, devices.AgreementReject:
			if !a.CanWriteRegistry() || a.OrgID != row.OperatorOrgID {
				return devices.Forbidden("only the lift's venue operator accepts or rejects an agreement")
			}
		case devices.AgreementRevoke:
			if !(a.IsRegulator() && a.IsAdmin()) && a.OrgID != row.FirmOrgID && !(a.CanWriteRegistry() && a.OrgID == row.OperatorOrgID) {
				return devices.Forbidden("only the firm, the venue operator or the regulator revokes an agreement")
			}
		default:
			return devices.Forbidden("calibd itself expires, suspends and reinstates agreements")
		}
		if version != devices.AnyVersion && version != row.Version {
			return devices.ErrPreconditionFailed
		}
		to, err := devices.AgreementState(row.State).Next(e)
		if err != nil {
			return err
		}
		reason = strings.TrimSpace(reason)
		if e != devices.AgreementAccept && reason == "" {
			return devices.Invalid("reason", "say why")
		}
		if e == devices.AgreementAccept {
			today, err := s.today(row.VenueID, tx)
			if err != nil {
				return err
			}
			if string(row.ValidTo) < today {
				return devices.Conflict("invalid_transition", "the agreement's window ended on %s", row.ValidTo)
			}
		}
		now := s.now()
		if err := updateAt(tx, &agreementRow{}, row.ID, row.Version, map[string]any{
			"state": string(to), "state_reason": reason, "version": row.Version + 1, "updated_at": now}); err != nil {
			return err
		}
		changes := devices.Changes{"state": {From: row.State, To: string(to)}}
		if reason != "" {
			changes["state_reason"] = devices.Change{From: row.StateReason, To: reason}
		}
		if err := s.audit(tx, a, string(e), devices.ResourceAgreement, row.ID, changes); err != nil {
			return err
		}
		fresh, err := s.getAgreement(tx, a, row.ID)
		out = fresh.toAgreement()
		return err
	})
	return out, err
}

// ExpireAgreements implements devices.MaintenanceStore. A window is judged
// in its venue's zone: the database narrows to windows that ended by
// yesterday in UTC plus a day of slack, each is then checked locally.
func (s *Store) ExpireAgreements(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *gorm.DB) error {
		n = 0 // a transaction run again (tx) counts afresh
		var rows []struct {
			ID       string
			ValidTo  calendarDate
			TimeZone string
			Version  int
		}
		cutoff := calendarDate(now.UTC().AddDate(0, 0, 1).Format(dateLayout))
		if err := tx.Table("cycle_agreements AS g").Select("g.id, g.valid_to, v.time_zone, g.version").
			Joins("JOIN venues v ON v.id = g.venue_id").
			Where("g.state IN ? AND g.valid_to < ?", liveAgreementStates, cutoff).Order("g.id").Find(&rows).Error; err != nil {
			return err
		}
		stamp := s.now()
		for _, r := range rows {
			if string(r.ValidTo) >= now.In(s.zone(r.TimeZone)).Format(dateLayout) {
				continue
			}
			res := tx.Model(&agreementRow{}).Where("id = ? AND state IN ?", r.ID, liveAgreementStates).Updates(map[string]any{
				"state": string(devices.AgreementExpired), "state_reason": "its window ended on " + string(r.ValidTo),
				"version": gorm.Expr("version + 1"), "updated_at": stamp})
			if res.Error != nil {
				return res.Error
			}
			n += int(res.RowsAffected)
		}
		return nil
	})
	return n, err
}
