package store

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
)

// liftFaults handles the critical fault events among keys ((device id,
// seq) pairs), stored by the batch received at received (a redelivered
// event is not new): each grows or opens the lift's fault alert, and
// suspends the extended-cycle agreement governing that day until an
// on-site visit clears the lift (issue 4 §2, issue 5 §6). The events are
// looked up by primary key: a lift's whole history is never scanned.
func (s *Store) liftFaults(tx *gorm.DB, keys [][]any, received time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	type event struct {
		DeviceID string
		Seq      int64
		TS       time.Time `gorm:"column:ts"`
		Code     string
		Severity string
	}
	var evs []event
	for chunk := range slices.Chunk(keys, 500) {
		var part []event
		if err := tx.Model(&readingRow{}).Select("device_id, seq, ts, code, severity").
			Where("(device_id, seq) IN ? AND received_at = ? AND kind = ?", chunk, received, string(devices.MessageEvents)).
			Find(&part).Error; err != nil {
			return err
		}
		evs = append(evs, part...)
	}
	slices.SortFunc(evs, func(a, b event) int {
		if c := strings.Compare(a.DeviceID, b.DeviceID); c != 0 {
			return c
		}
		if c := a.TS.Compare(b.TS); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	now := s.now()
	for _, e := range evs {
		if !devices.CriticalLiftEvent(e.Code, devices.Severity(e.Severity)) {
			continue
		}
		var el elevatorRow
		err := tx.Where("id = ?", e.DeviceID).Take(&el).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			continue // a thermometer's event: no lift to suspend
		}
		if err != nil {
			return err
		}
		detail := fmt.Sprintf("%s reported at %s (seq %d)", e.Code, e.TS.UTC().Format(time.RFC3339), e.Seq)
		if err := s.liftFaultAlert(tx, el, e.TS, detail, now); err != nil {
			return err
		}
		if err := s.suspendForFault(tx, el, e.TS, detail, now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) liftFaultAlert(tx *gorm.DB, el elevatorRow, at time.Time, detail string, now time.Time) error {
	var open alertRow
	err := tx.Where("device_id = ? AND kind = ? AND state <> ?", el.ID, string(devices.AlertFault), string(devices.AlertResolved)).Take(&open).Error
	switch {
	case err == nil && !at.After(open.LastAt):
		return nil // this event (or an earlier one) counted already: a redelivery
	case err == nil:
		return tx.Model(&alertRow{}).Where("id = ?", open.ID).Updates(map[string]any{"last_at": at.UTC(),
			"evidence": gorm.Expr("evidence + 1"), "detail": detail, "version": gorm.Expr("version + 1"), "updated_at": now}).Error
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return err
	}
	return tx.Create(&alertRow{ID: newID(), DeviceID: el.ID, DeviceKind: string(devices.DeviceElevator), VenueID: el.VenueID,
		OperatorOrgID: el.OperatorOrgID, Kind: string(devices.AlertFault), State: string(devices.AlertOpen), FirstAt: at.UTC(),
		LastAt: at.UTC(), Evidence: 1, Detail: detail, Version: 1, CreatedAt: now, UpdatedAt: now}).Error
}

// suspendForFault suspends the accepted agreement whose window covers the
// fault's day in the venue's zone, audited as the system, and tells the
// venue operator.
func (s *Store) suspendForFault(tx *gorm.DB, el elevatorRow, at time.Time, detail string, now time.Time) error {
	var zone string
	if err := tx.Model(&venueRow{}).Where("id = ?", el.VenueID).Pluck("time_zone", &zone).Error; err != nil {
		return err
	}
	day := calendarDate(at.In(s.zone(zone)).Format(dateLayout))
	var ags []agreementRow
	if err := tx.Where("elevator_id = ? AND state = ? AND valid_from <= ? AND valid_to >= ?", el.ID,
		string(devices.AgreementAccepted), day, day).Find(&ags).Error; err != nil {
		return err
	}
	for _, g := range ags {
		reason := "critical fault " + detail
		res := tx.Model(&agreementRow{}).Where("id = ? AND state = ?", g.ID, g.State).Updates(map[string]any{
			"state": string(devices.AgreementSuspended), "state_reason": reason, "version": gorm.Expr("version + 1"), "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			continue
		}
		if err := s.audit(tx, devices.SystemActor(), string(devices.AgreementSuspend), devices.ResourceAgreement, g.ID, devices.Changes{
			"state": {From: g.State, To: string(devices.AgreementSuspended)}, "state_reason": {From: g.StateReason, To: reason}}); err != nil {
			return err
		}
		if _, err := s.raiseIn(tx, []eventRow{liftEvent(now, g.OperatorOrgID, g.VenueID, devices.EventAgreementSuspended,
			devices.SeverityCritical, devices.EventResourceAgreement, g.ID,
			fmt.Sprintf("Extended-cycle agreement %s for lift %s is suspended until an on-site visit clears the lift (%s)", g.ID,
				el.RegistrationCode, reason), string(devices.EventAgreementSuspended)+":"+g.ID+":fault:"+el.ID+":"+at.UTC().Format(time.RFC3339Nano))}); err != nil {
			return err
		}
	}
	return nil
}
