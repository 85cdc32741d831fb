package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/migrations"
)

type driftStateRow struct {
	DeviceID   string
	State      string
	ThroughTS  *time.Time `gorm:"column:through_ts"`
	ThroughSeq *int64
	ResetAt    *time.Time
	Replays    int
	UpdatedAt  time.Time
	// SigmaC and UC come from the last passing calibration (resetDrift);
	// nil means the configured default.
	SigmaC *float64 `gorm:"column:sigma_c"`
	// Mu0C is the detectors' target error (the calibration's error near
	// 37 °C); nil: 0.
	Mu0C         *float64 `gorm:"column:mu0_c"`
	UC           *float64 `gorm:"column:u_c"`
	ParamsSource string
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
	PredictedAt    *time.Time
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (alertRow) TableName() string { return "alerts" }

func (r alertRow) toAlert() devices.Alert {
	return devices.Alert{ID: r.ID, DeviceID: r.DeviceID, DeviceKind: devices.DeviceKind(r.DeviceKind), VenueID: r.VenueID,
		OperatorOrgID: r.OperatorOrgID, InstituteID: r.InstituteID, Kind: devices.AlertKind(r.Kind), State: devices.AlertState(r.State),
		FirstAt: r.FirstAt.UTC(), LastAt: r.LastAt.UTC(), Evidence: r.Evidence, Detail: r.Detail, ResolvedReason: r.ResolvedReason,
		PredictedAt: utcPtr(r.PredictedAt), Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// checkPoint is a stored calibration-mode check as the detectors read it.
type checkPoint struct {
	Seq        int64
	TS         time.Time `gorm:"column:ts"`
	ReferenceC float64   `gorm:"column:reference_c"`
	ValueC     float64   `gorm:"column:value_c"`
}

func comparePoints(a, b checkPoint) int {
	if c := a.TS.Compare(b.TS); c != 0 {
		return c
	}
	return cmp.Compare(a.Seq, b.Seq)
}

// driftKinds are the alert kinds the detectors raise, in the order they
// are written.
var driftKinds = []devices.AlertKind{devices.AlertOutOfTolerance, devices.AlertDrift, devices.AlertPredictedDrift}

// driftParams are the numbers a thermometer's checks are judged by.
type driftParams struct {
	mpe, u, sigma, mu0 float64
	source             string
}

// driftParams: σ and U from the thermometer's last passing calibration
// when it gave them (kept on its drift state by resetDrift), else the
// configured default σ for its tolerance profile, else the global
// defaults; the MPE is the thermometer's.
func (s *Store) driftParams(th thermometerRow, st driftStateRow) driftParams {
	p := driftParams{mpe: th.MPEC, u: s.drift.UC, sigma: s.drift.SigmaC, source: "configured defaults"}
	if v, ok := s.drift.SigmaByProfile[th.ToleranceProfile]; ok {
		p.sigma, p.source = v, "configured default of profile "+th.ToleranceProfile
	}
	if st.SigmaC != nil {
		p.sigma = *st.SigmaC
	}
	if st.UC != nil {
		p.u = *st.UC
	}
	if st.Mu0C != nil {
		p.mu0 = *st.Mu0C
	}
	if st.ParamsSource != "" && (st.SigmaC != nil || st.UC != nil || st.Mu0C != nil) {
		p.source = st.ParamsSource
	}
	return p
}

// updateDrift brings the detector state of the thermometers among stored
// (the rows this batch stored) up to date with their calibration-mode
// checks, in (ts, seq) order, and raises or grows their alerts. It works
// per batch, not per device: one query reads the thermometers, one the
// states this replica has not cached (creating missing ones), one writes
// them all back by compare and set, one reads the open alerts; only
// conflicts, alerts that change and replays cost more.
//
// When one of the batch's checks is not after the last one applied
// (another replica committed a later check first), the device's state is
// rebuilt from every check since its last reset, so the state depends on
// which checks are stored, never on their arrival order. Every committed
// check is applied by the transaction that stored it, and a state row is
// written only if it is still the one read (or under lock on SQLite), so
// this holds across replicas.
//
// It returns the states it wrote, for driftCache once the transaction has
// committed (PostgreSQL only).
func (s *Store) updateDrift(tx *gorm.DB, conn *sql.Conn, stored []readingRow) ([]cachedDrift, error) {
	ctx := tx.Statement.Context
	batch := map[string][]checkPoint{}
	for _, r := range stored {
		if r.Kind != string(devices.MessageChecks) || r.Mode == nil || *r.Mode != string(devices.ModeCalibration) ||
			r.ValueC == nil || r.ReferenceC == nil {
			continue
		}
		batch[r.DeviceID] = append(batch[r.DeviceID], checkPoint{Seq: r.Seq, TS: r.TS.UTC(), ReferenceC: *r.ReferenceC, ValueC: *r.ValueC})
	}
	if len(batch) == 0 {
		return nil, nil
	}
	ids := slices.Sorted(maps.Keys(batch))
	now := s.now()
	// On PostgreSQL the states are read without a lock and written back
	// only if nobody changed them meanwhile (compare and set): one row
	// write per device instead of a lock and an update. A device another
	// replica changed is done again under FOR UPDATE. SQLite's transaction
	// holds the whole database, so it reads and writes plainly. On
	// PostgreSQL the rows this replica committed last come from its
	// driftCache, with the thermometer rows they were judged by: the
	// compare and set checks them like rows just read, the thermometer
	// by its facts_version (a trigger bumps it on every update).
	optimistic := s.dialect == migrations.Postgres
	var cached map[string]cachedDrift
	toRead := ids
	if optimistic {
		cached, toRead = s.driftCache.take(ids)
	}
	states := make(map[string]driftStateRow, len(toRead))
	if err := s.readDriftStates(ctx, tx, conn, toRead, states, !optimistic); err != nil {
		return nil, err
	}
	ths := make(map[string]*thermometerRow, len(ids))
	var thRead []string
	for _, id := range ids {
		if c, ok := cached[id]; ok && c.th != nil {
			ths[id] = c.th
		} else {
			thRead = append(thRead, id)
		}
	}
	if err := readDriftThermometers(ctx, tx, conn, thRead, ths); err != nil {
		return nil, err
	}
	notThermometer := func(id string) bool { _, ok := ths[id]; return !ok } // lifts have no detectors
	ids, toRead = slices.DeleteFunc(ids, notThermometer), slices.DeleteFunc(toRead, notThermometer)
	if len(ids) == 0 {
		return nil, nil
	}
	var fresh []driftStateRow
	for _, id := range toRead {
		if _, ok := states[id]; !ok {
			fresh = append(fresh, driftStateRow{DeviceID: id, State: "{}", ResetAt: ths[id].LastCalibratedAt, UpdatedAt: now})
		}
	}
	if len(fresh) > 0 {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(fresh, s.insertBatch()).Error; err != nil {
			return nil, err
		}
		missing := make([]string, len(fresh))
		for i, f := range fresh {
			missing[i] = f.DeviceID
		}
		if err := s.readDriftStates(ctx, tx, conn, missing, states, !optimistic); err != nil {
			return nil, err
		}
	}
	writes := make([]driftWrite, 0, len(ids)) // in device order
	for _, id := range ids {
		read, known := states[id], (*devices.DriftState)(nil)
		if c, ok := cached[id]; ok {
			read, known = c.row, &c.st
		}
		w, ok, err := s.driftDevice(tx, batch[id], ths[id], read, known, now)
		if err != nil {
			return nil, err
		}
		if ok {
			writes = append(writes, w)
		}
	}
	if !optimistic {
		rows := make([]driftStateRow, len(writes))
		for i, w := range writes {
			rows[i] = w.row
		}
		if err := s.writeDriftStates(tx, rows); err != nil {
			return nil, err
		}
		return nil, s.writeDriftAlerts(tx, writes, now)
	}
	// Lock order: a thermometer before its drift state, as a calibration
	// takes them (it updates the thermometer, then resets the state). A
	// device whose alerts may change its thermometer (status, tasks) has
	// the row locked before the compare and set takes the state's; the
	// others never touch their thermometer here.
	var thLocked map[string]bool
	lockAlerting := func(ws []driftWrite, lock string) error {
		var ids []string // in device order, as ws is
		for _, w := range ws {
			if len(w.o.hits) > 0 && !thLocked[w.row.DeviceID] {
				ids = append(ids, w.row.DeviceID)
			}
		}
		if len(ids) == 0 {
			return nil
		}
		if _, err := driftThermometers(ctx, tx, conn, ids, lock); err != nil {
			return err
		}
		if thLocked == nil {
			thLocked = make(map[string]bool, len(ids))
		}
		for _, id := range ids {
			thLocked[id] = true
		}
		return nil
	}
	if err := lockAlerting(writes, lockWait); err != nil {
		return nil, err
	}
	applied, err := casDriftStates(ctx, conn, writes, now)
	if err != nil {
		return nil, err
	}
	var conflicted []string
	for _, w := range writes {
		if !applied[w.row.DeviceID] {
			conflicted = append(conflicted, w.row.DeviceID)
		}
	}
	// A conflicted device is done again from its state read under lock,
	// with its thermometer read afresh (unlocked: this transaction holds
	// drift-state locks now, and another batch locks a thermometer before
	// states). Only a thermometer changed since that read fails the write
	// again; a few rounds settle it. A redone device whose alerts will
	// change its thermometer needs that row locked too, and this
	// transaction must not wait for it while holding drift states (a
	// calibration, or another replica's batch with an alert on the same
	// device, holds it and waits for the state: a deadlock). It takes the
	// lock with NOWAIT; if another holds it, the batch gives way and is run
	// again from the start (ingestTx), locking in the usual order.
	redone := make(map[string]driftWrite, len(conflicted))
	for round := 0; len(conflicted) > 0; round++ {
		if round == 3 {
			return nil, fmt.Errorf("drift states: %d thermometers kept changing during the batch", len(conflicted))
		}
		locked := map[string]driftStateRow{}
		if err := s.readDriftStates(ctx, tx, conn, conflicted, locked, true); err != nil {
			return nil, err
		}
		if err := readDriftThermometers(ctx, tx, conn, conflicted, ths); err != nil {
			return nil, err
		}
		var again []driftWrite
		for _, id := range conflicted {
			delete(redone, id)
			w, ok, err := s.driftDevice(tx, batch[id], ths[id], locked[id], nil, now)
			if err != nil {
				return nil, err
			}
			if ok {
				redone[id], again = w, append(again, w)
			}
		}
		if err := lockAlerting(again, lockNoWait); err != nil {
			return nil, err
		}
		done, err := casDriftStates(ctx, conn, again, now)
		if err != nil {
			return nil, err
		}
		conflicted = conflicted[:0]
		for _, w := range again {
			if !done[w.row.DeviceID] {
				conflicted = append(conflicted, w.row.DeviceID)
			}
		}
	}
	if len(redone) > 0 || len(applied) != len(writes) {
		// A conflicted device's write is the redone one, or none.
		kept := writes[:0]
		for _, w := range writes {
			if !applied[w.row.DeviceID] {
				var ok bool
				if w, ok = redone[w.row.DeviceID]; !ok {
					continue
				}
			}
			kept = append(kept, w)
		}
		writes = kept
	}
	cache := make([]cachedDrift, 0, len(writes))
	for _, w := range writes {
		if len(w.o.hits) > 0 {
			// Its alerts may change its thermometer (status, tasks), past
			// the row kept: read both again next time.
			continue
		}
		cache = append(cache, cachedDrift{row: w.row, st: w.st, th: ths[w.row.DeviceID]})
	}
	return cache, s.writeDriftAlerts(tx, writes, now)
}

// driftWrite is one thermometer's part of a batch: the state row it
// started from (what the compare and set expects to find), the row and
// decoded state to write, and what its checks did.
type driftWrite struct {
	read, row driftStateRow
	st        devices.DriftState
	o         driftOutcome
}

// driftDevice applies a thermometer's checks of this batch (pts) to its
// stored state row, in (ts, seq) order, or rebuilds the state from every
// check since the reset when one of them is not after the last applied.
// known, when set, is row.State already decoded (driftCache). ok is
// false when there is nothing to write (every check was before the last
// reset).
func (s *Store) driftDevice(tx *gorm.DB, batch []checkPoint, th *thermometerRow, row driftStateRow, known *devices.DriftState,
	now time.Time) (w driftWrite, ok bool, err error) {
	id := th.ID
	w.read = row
	var st devices.DriftState
	if known != nil {
		st = *known
	} else if st, err = devices.DecodeDriftState([]byte(row.State)); err != nil {
		return w, false, fmt.Errorf("drift of %s: stored state: %w", id, err)
	}
	pts := slices.DeleteFunc(slices.Clone(batch), func(p checkPoint) bool { return row.ResetAt != nil && !p.TS.After(*row.ResetAt) })
	slices.SortFunc(pts, comparePoints)
	replay := false
	if row.ThroughTS != nil && len(pts) > 0 &&
		comparePoints(pts[0], checkPoint{TS: row.ThroughTS.UTC(), Seq: *row.ThroughSeq}) <= 0 {
		replay, st, row.Replays = true, devices.DriftState{}, row.Replays+1
		q := tx.Model(&readingRow{}).Select("seq, ts, reference_c, value_c").Where("device_id = ? AND kind = ? AND mode = ?", id,
			string(devices.MessageChecks), string(devices.ModeCalibration))
		if row.ResetAt != nil {
			q = q.Where("ts > ?", *row.ResetAt)
		}
		pts = nil
		if err := q.Order("ts, seq").Find(&pts).Error; err != nil {
			return w, false, fmt.Errorf("drift of %s: %w", id, err)
		}
	}
	if len(pts) == 0 {
		return w, false, nil
	}
	cfg := s.drift.Detectors
	par := s.driftParams(*th, row)
	o := driftOutcome{th: th, replay: replay}
	for _, p := range pts {
		e := p.ValueC - p.ReferenceC
		v := st.ObserveCentred(cfg, p.TS.UTC(), p.Seq, e, par.mu0, par.mpe, par.u, par.sigma)
		if v.Ignored {
			continue
		}
		reason := ""
		if v.PredictsCrossingBefore(th.NextDueAt) {
			reason = st.Forecast(cfg, par.mpe, par.u).Reason
		}
		o.judge(v, p.TS, e, par, th.NextDueAt, reason)
	}
	last := pts[len(pts)-1]
	lastTS, lastSeq := last.TS.UTC(), last.Seq
	row.State, row.ThroughTS, row.ThroughSeq, row.UpdatedAt = string(devices.AppendDriftState(nil, st)), &lastTS, &lastSeq, now
	w.row, w.st, w.o = row, st, o
	return w, true, nil
}

// driftOutcome is what one batch's checks did to one thermometer.
type driftOutcome struct {
	th     *thermometerRow
	replay bool
	hits   alertHits
}

// judge turns one verdict into alert evidence; forecastReason explains a
// predicted crossing (DriftState.Forecast).
func (o *driftOutcome) judge(v devices.DriftVerdict, at time.Time, e float64, par driftParams, due time.Time, forecastReason string) {
	if v.OutOfTolerance {
		o.hits.add(devices.AlertOutOfTolerance, at, fmt.Sprintf("check error %+.3f °C beyond the MPE ±%.2f °C", e, par.mpe), nil)
	}
	if v.EWMA || v.CUSUM {
		var why []string
		if v.EWMA {
			why = append(why, fmt.Sprintf("EWMA %+.3f °C beyond ±%.3f", v.Z, v.ZLimit))
		}
		if v.CUSUM {
			why = append(why, fmt.Sprintf("CUSUM C+ %.3f / C− %.3f beyond %.3f °C", v.CUSUMHigh, v.CUSUMLow, v.CUSUMLimit))
		}
		o.hits.add(devices.AlertDrift, at, strings.Join(why, "; ")+fmt.Sprintf(" (σ %.3f °C; %s)", par.sigma, par.source), nil)
	}
	if v.PredictsCrossingBefore(due) {
		o.hits.add(devices.AlertPredictedDrift, at, fmt.Sprintf("|e| forecast to reach MPE − U = %.3f °C on %s, before the next calibration due %s: %s",
			par.mpe-par.u, v.Predicted.UTC().Format(time.RFC3339), due.UTC().Format(time.DateOnly), forecastReason), v.Predicted)
	}
}

type alertHit struct {
	first, last time.Time
	count       int
	detail      string
	predicted   *time.Time
}

type alertHits map[devices.AlertKind]*alertHit

func (m *alertHits) add(kind devices.AlertKind, at time.Time, detail string, predicted *time.Time) {
	h := (*m)[kind]
	if h == nil {
		if *m == nil {
			*m = alertHits{} // most batches raise nothing: no map for them
		}
		h = &alertHit{first: at}
		(*m)[kind] = h
	}
	h.last, h.detail, h.predicted = at, detail, predicted
	h.count++
}

// writeDriftAlerts grows or opens the alerts the writes' outcomes support, reading
// the open alerts of all their devices at once. A replay covers every
// check since the reset, so it sets the evidence rather than adding to it,
// and resolves an alert the checks in timestamp order no longer support.
func (s *Store) writeDriftAlerts(tx *gorm.DB, writes []driftWrite, now time.Time) error {
	var ids []string
	for _, w := range writes {
		o := w.o
		if len(o.hits) > 0 || o.replay {
			ids = append(ids, o.th.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	kinds := make([]string, len(driftKinds))
	for i, k := range driftKinds {
		kinds[i] = string(k)
	}
	open := map[readingKey]alertRow{} // (device, kind index)
	for chunk := range slices.Chunk(ids, 1000) {
		var rows []alertRow
		if err := tx.Where("device_id IN ? AND kind IN ? AND state <> ?", chunk, kinds, string(devices.AlertResolved)).Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			open[readingKey{r.DeviceID, int64(slices.Index(kinds, r.Kind))}] = r
		}
	}
	for _, w := range writes {
		o := w.o
		for i, kind := range driftKinds {
			h, cur := o.hits[kind], open[readingKey{o.th.ID, int64(i)}]
			switch {
			case h != nil && cur.ID != "":
				updates := map[string]any{"last_at": h.last.UTC(), "evidence": gorm.Expr("evidence + ?", h.count), "detail": h.detail,
					"version": gorm.Expr("version + 1"), "updated_at": now}
				if o.replay {
					updates["evidence"], updates["first_at"] = h.count, h.first.UTC()
				}
				if h.predicted != nil {
					updates["predicted_at"] = h.predicted.UTC()
				}
				if err := tx.Model(&alertRow{}).Where("id = ?", cur.ID).Updates(updates).Error; err != nil {
					return err
				}
			case h != nil:
				if err := s.openDriftAlert(tx, *o.th, kind, *h, now); err != nil {
					return err
				}
			case o.replay && cur.ID != "":
				if err := tx.Model(&alertRow{}).Where("id = ?", cur.ID).Updates(map[string]any{"state": string(devices.AlertResolved),
					"resolved_reason": "re-evaluated in timestamp order", "version": gorm.Expr("version + 1"), "updated_at": now}).Error; err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// openDriftAlert opens a thermometer's alert of kind; an out-of-tolerance
// or drift alert also calls for an urgent calibration. A forecast alone
// does not: its date is the warning, and the device is still within
// tolerance.
func (s *Store) openDriftAlert(tx *gorm.DB, th thermometerRow, kind devices.AlertKind, h alertHit, now time.Time) error {
	var predicted *time.Time
	if h.predicted != nil {
		p := h.predicted.UTC()
		predicted = &p
	}
	if err := tx.Create(&alertRow{ID: newID(), DeviceID: th.ID, DeviceKind: string(devices.DeviceThermometer), VenueID: th.VenueID,
		OperatorOrgID: th.OperatorOrgID, InstituteID: th.InstituteID, Kind: string(kind), State: string(devices.AlertOpen),
		FirstAt: h.first.UTC(), LastAt: h.last.UTC(), Evidence: h.count, Detail: h.detail, PredictedAt: predicted, Version: 1,
		CreatedAt: now, UpdatedAt: now}).Error; err != nil {
		return err
	}
	if kind == devices.AlertPredictedDrift {
		return nil
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
// at: checks up to then no longer count, the device's σ and U become
// those of the calibration (data; nil keeps the defaults), and open
// drift, out-of-tolerance and predicted-drift alerts are resolved with the
// reason.
func (s *Store) resetDrift(tx *gorm.DB, id string, at time.Time, reason string, data *devices.CalibrationData, now time.Time) error {
	s.driftCache.forget(id) // the compare and set would find out; no need to try
	at = at.UTC()
	row := driftStateRow{DeviceID: id, State: "{}", ResetAt: &at, UpdatedAt: now}
	if data != nil {
		row.SigmaC, row.UC, row.Mu0C, row.ParamsSource = calibrationParams(*data, reason, s.drift.SigmaC)
	}
	if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "device_id"}},
		DoUpdates: clause.Assignments(map[string]any{"state": "{}", "through_ts": nil, "through_seq": nil, "reset_at": at, "updated_at": now,
			"sigma_c": row.SigmaC, "u_c": row.UC, "mu0_c": row.Mu0C, "params_source": row.ParamsSource}),
	}).Create(&row).Error; err != nil {
		return err
	}
	return tx.Model(&alertRow{}).Where("device_id = ? AND kind IN ? AND state <> ?", id,
		[]string{string(devices.AlertOutOfTolerance), string(devices.AlertDrift), string(devices.AlertPredictedDrift)}, string(devices.AlertResolved)).
		Updates(map[string]any{"state": string(devices.AlertResolved), "resolved_reason": reason, "version": gorm.Expr("version + 1"),
			"updated_at": now}).Error
}

// calibrationParams are the σ and U a calibration gives the detectors.
// σ is the pooled repeatability of its readings, floored at half the
// configured default: three readings a point on a 0.01 °C display often
// agree exactly, and a σ near zero would turn the detectors' limits into
// alarms on the device's ordinary bias. A calibration with no spread at
// all gives no σ (nil: the default applies).
func calibrationParams(d devices.CalibrationData, source string, defaultSigma float64) (sigma, u, mu0 *float64, why string) {
	parts := []string{source}
	if v, df := d.Repeatability(); df > 0 && v > 0 {
		v = max(v, defaultSigma/2)
		sigma = &v
		parts = append(parts, fmt.Sprintf("repeatability over %d degrees of freedom", df))
	}
	if v := d.ExpandedUncertainty(); v > 0 {
		u = &v
		parts = append(parts, fmt.Sprintf("U %.3f °C", v))
	}
	if v, at, ok := d.ErrorNear(devices.DriftTargetReferenceC); ok {
		mu0 = &v
		parts = append(parts, fmt.Sprintf("target error %+.3f °C (left at %.1f °C)", v, at))
	}
	if len(parts) == 1 {
		return nil, nil, nil, ""
	}
	return sigma, u, mu0, strings.Join(parts, ", ")
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
			lastOf, err := lastReceived(tx, ids)
			if err != nil {
				return err
			}
			for _, c := range chunk {
				since := c.IssuedAt
				if l, ok := lastOf[c.DeviceID]; ok && l.After(since) {
					since = l
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
					// Scanned through a struct: a NULL institute (none
					// assigned) cannot be plucked into a string.
					var th []struct{ InstituteID *string }
					if err := tx.Model(&thermometerRow{}).Select("institute_id").Where("id = ?", c.DeviceID).Find(&th).Error; err != nil {
						return err
					}
					if len(th) == 1 {
						institute = th[0].InstituteID
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

// lastReceived is when each of ids (credentialed devices) last had a
// message stored: the later receipt of its newest reading by sequence
// number and of its newest by timestamp, each one probe of an index of
// readings ((device_id, seq) and (device_id, ts)). MAX(received_at) would
// read every reading the devices ever sent, each time the job runs. Devices
// with nothing stored are absent.
func lastReceived(tx *gorm.DB, ids []string) (map[string]time.Time, error) {
	var rows []struct {
		DeviceID    string
		BySeq, ByTS sqlTime
	}
	// COALESCE to the credential's issue time, which the caller takes as
	// the floor anyway: sqlTime scans no NULL.
	if err := tx.Raw(`SELECT dc.device_id AS device_id,
		  COALESCE((SELECT r.received_at FROM readings r WHERE r.device_id = dc.device_id ORDER BY r.seq DESC LIMIT 1), dc.issued_at) AS by_seq,
		  COALESCE((SELECT r.received_at FROM readings r WHERE r.device_id = dc.device_id ORDER BY r.ts DESC LIMIT 1), dc.issued_at) AS by_ts
		FROM device_credentials dc WHERE dc.device_id IN ?`, ids).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		last := time.Time(r.BySeq)
		if byTS := time.Time(r.ByTS); byTS.After(last) {
			last = byTS
		}
		out[r.DeviceID] = last
	}
	return out, nil
}

// endSilence resolves the silent alerts of devices that just sent
// something. It runs for every batch, so on PostgreSQL it goes through
// pgx on conn with the ids as one uuid[].
func (s *Store) endSilence(tx *gorm.DB, conn *sql.Conn, deviceIDs []string, now time.Time) error {
	if len(deviceIDs) == 0 {
		return nil
	}
	const reason = "the device reported again"
	if conn != nil {
		keys, err := uuidKeys(deviceIDs)
		if err != nil {
			return err
		}
		return withPgx(conn, func(c *pgx.Conn) error {
			_, err := c.Exec(tx.Statement.Context, "UPDATE alerts SET state = $2, resolved_reason = $3, version = version + 1, updated_at = $4 "+
				"WHERE device_id = ANY($1) AND kind = $5 AND state <> $2",
				keys, string(devices.AlertResolved), reason, now, string(devices.AlertSilent))
			return err
		})
	}
	return tx.Model(&alertRow{}).Where("device_id IN ? AND kind = ? AND state <> ?", deviceIDs, string(devices.AlertSilent),
		string(devices.AlertResolved)).Updates(map[string]any{"state": string(devices.AlertResolved),
		"resolved_reason": reason, "version": gorm.Expr("version + 1"), "updated_at": now}).Error
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

// DriftReport implements devices.ReadingHistory.
func (s *Store) DriftReport(ctx context.Context, a devices.Actor, thermometerID string) (devices.DriftReport, error) {
	q := s.db.WithContext(ctx)
	id := strings.ToLower(thermometerID)
	d, err := s.visibleDevice(q, a, id)
	if err != nil {
		return devices.DriftReport{}, err
	}
	if d.kind != devices.DeviceThermometer {
		return devices.DriftReport{}, fmt.Errorf("thermometer %q (a lift has no drift detectors): %w", id, devices.ErrNotFound)
	}
	var th thermometerRow
	if err := q.Where("id = ?", d.id).Take(&th).Error; err != nil {
		return devices.DriftReport{}, err
	}
	var rows []driftStateRow
	if err := q.Where("device_id = ?", d.id).Limit(1).Find(&rows).Error; err != nil {
		return devices.DriftReport{}, err
	}
	row := driftStateRow{DeviceID: d.id, State: "{}", ResetAt: th.LastCalibratedAt}
	if len(rows) == 1 {
		row = rows[0]
	}
	st, err := devices.DecodeDriftState([]byte(row.State))
	if err != nil {
		return devices.DriftReport{}, fmt.Errorf("drift of %s: stored state: %w", d.id, err)
	}
	par, cfg := s.driftParams(th, row), s.drift.Detectors
	out := devices.DriftReport{DeviceID: d.id, MPEC: par.mpe, UC: par.u, SigmaC: par.sigma, Mu0C: par.mu0, ParamsSource: par.source,
		ResetAt: utcPtr(row.ResetAt), N: st.N, Lambda: cfg.Lambda, EWMAC: st.EWMA, EWMALimitC: st.EWMALimit(cfg, par.sigma),
		CUSUMHighC: st.CUSUMHigh, CUSUMLowC: st.CUSUMLow, CUSUMLimitC: cfg.H * par.sigma,
		Forecast: st.Forecast(cfg, par.mpe, par.u), NextDueAt: th.NextDueAt.UTC(), Replays: row.Replays}
	if st.N > 0 {
		last := st.LastAt.UTC()
		out.LastAt = &last
		updated := row.UpdatedAt.UTC()
		out.UpdatedAt = &updated
	}
	out.PredictedBeforeDue = out.Forecast.PredictsCrossingBefore(out.NextDueAt)
	return out, nil
}

// AlertCount is how many alerts of a kind are in a state.
type AlertCount struct {
	Kind, State string
	N           int64
}

// AlertCounts counts every alert by kind and state, for /metrics: alerts
// are never deleted, so the sum over states is every alert ever raised.
func (s *Store) AlertCounts(ctx context.Context) ([]AlertCount, error) {
	var out []AlertCount
	err := s.db.WithContext(ctx).Model(&alertRow{}).Select("kind, state, COUNT(*) AS n").Group("kind, state").Order("kind, state").
		Scan(&out).Error
	return out, err
}
