package store

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/migrations"
)

// Idempotency resources of bulk imports: the key remembers the venue and
// how many objects the import created.
const (
	ResourceThermometerImport = "thermometer_import"
	ResourceElevatorImport    = "elevator_import"
)

// insertBatch is how many rows one multi-row INSERT carries. PostgreSQL
// takes 1,000 rows of up to 25 columns under its 65,535 bind-parameter
// limit. The pure-Go SQLite driver binds parameters in time quadratic in
// their number, so there short statements are much faster: 64 rows (about
// 1,500 parameters) keep a 10,000-row import well inside its budget.
func (s *Store) insertBatch() int {
	if s.dialect == migrations.SQLite {
		return 64
	}
	return 1000
}

// rowProblems gives a row's field errors their CSV line number.
func rowProblems(line int, err error) []devices.FieldError {
	var p devices.Problems
	if !p.Merge(err) {
		return nil
	}
	ve := p.Err().(*devices.ValidationError)
	for i := range ve.Fields {
		ve.Fields[i].Row = line
	}
	return ve.Fields
}

// ImportThermometers implements devices.ThermometerStore: every row or none.
func (s *Store) ImportThermometers(ctx context.Context, a devices.Actor, venueID string, in []devices.ImportRow[devices.Thermometer]) (int, error) {
	return importOnce(s, ctx, a, venueID, in, ResourceThermometerImport, s.importThermometers)
}

func (s *Store) importThermometers(tx *gorm.DB, a devices.Actor, venueID string, in []devices.ImportRow[devices.Thermometer]) error {
	venue, err := s.writableVenue(tx, a, venueID)
	if err != nil {
		return err
	}
	now := s.now()
	chk := newRefChecker(tx)
	var bad []devices.FieldError
	rows := make([]thermometerRow, 0, len(in))
	audited := make(map[string]map[string]any, len(in)) // id -> the fields its create event records
	lines := map[string]int{}                           // manufacturer|model|serial -> first line
	keys := make([]string, 0, len(in))
	for _, r := range in {
		if len(r.Problems) > 0 {
			bad = append(bad, r.Problems...)
			continue
		}
		t := r.Value
		t.ID, t.VenueID, t.OperatorOrgID, t.Version, t.CreatedAt, t.UpdatedAt = newID(), venue.ID, venue.OperatorOrgID, 1, now, now
		if err := chk.resolveThermometer(&t, s.now); err != nil {
			if fe := rowProblems(r.Line, err); fe != nil {
				bad = append(bad, fe...)
				continue
			}
			return err
		}
		key := t.Manufacturer + "\x00" + t.Model + "\x00" + t.Serial
		if first, dup := lines[key]; dup {
			bad = append(bad, devices.FieldError{Row: r.Line, Field: "serial",
				Reason: "repeats the manufacturer, model and serial of line " + itoa(first)})
			continue
		}
		lines[key] = r.Line
		keys = append(keys, key)
		rows = append(rows, fromThermometer(t))
		audited[t.ID] = thermometerFields(t)
	}
	taken, err := existingSerials(tx, keys)
	if err != nil {
		return err
	}
	for _, k := range taken {
		bad = append(bad, devices.FieldError{Row: lines[k], Field: "serial",
			Reason: "a thermometer with this manufacturer, model and serial is already registered"})
	}
	if len(bad) > 0 {
		return devices.Fields(bad)
	}
	if err := insertImported(s, tx, a, venueID, rows, serialConflict, devices.ResourceThermometer, "thermometers_created",
		func(r thermometerRow) (string, devices.Changes) {
			return r.ID, created(audited[r.ID])
		}); err != nil {
		return err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return s.applyActive(tx, ids, &devices.DeferralReport{})
}

// existingSerials returns which manufacturer|model|serial keys are already
// registered. Keys are grouped by manufacturer and model and asked for as
// "manufacturer = ? AND model = ? AND serial IN (...)", which both
// databases answer from the unique index; an OR of composite conditions
// made PostgreSQL scan the table once per chunk.
func existingSerials(tx *gorm.DB, keys []string) ([]string, error) {
	type makeModel struct{ manufacturer, model string }
	groups := map[makeModel][]string{}
	var order []makeModel
	for _, k := range keys {
		parts := strings.SplitN(k, "\x00", 3)
		mm := makeModel{parts[0], parts[1]}
		if _, ok := groups[mm]; !ok {
			order = append(order, mm)
		}
		groups[mm] = append(groups[mm], parts[2])
	}
	var taken []string
	for _, mm := range order {
		serials := groups[mm]
		for start := 0; start < len(serials); start += 500 {
			var found []string
			err := tx.Model(&thermometerRow{}).
				Where("manufacturer = ? AND model = ? AND serial IN ?", mm.manufacturer, mm.model, serials[start:min(start+500, len(serials))]).
				Pluck("serial", &found).Error
			if err != nil {
				return nil, err
			}
			for _, serial := range found {
				taken = append(taken, mm.manufacturer+"\x00"+mm.model+"\x00"+serial)
			}
		}
	}
	return taken, nil
}

// ImportElevators implements devices.ElevatorStore: every row or none.
func (s *Store) ImportElevators(ctx context.Context, a devices.Actor, venueID string, in []devices.ImportRow[devices.Elevator]) (int, error) {
	return importOnce(s, ctx, a, venueID, in, ResourceElevatorImport, s.importElevators)
}

func (s *Store) importElevators(tx *gorm.DB, a devices.Actor, venueID string, in []devices.ImportRow[devices.Elevator]) error {
	venue, err := s.writableVenue(tx, a, venueID)
	if err != nil {
		return err
	}
	now := s.now()
	chk := newRefChecker(tx)
	var bad []devices.FieldError
	rows := make([]elevatorRow, 0, len(in))
	lines := map[string]int{}
	codes := make([]string, 0, len(in))
	for _, r := range in {
		if len(r.Problems) > 0 {
			bad = append(bad, r.Problems...)
			continue
		}
		e := r.Value
		e.ID, e.VenueID, e.OperatorOrgID, e.Version, e.CreatedAt, e.UpdatedAt = newID(), venue.ID, venue.OperatorOrgID, 1, now, now
		if err := chk.resolveElevator(&e, s.now); err != nil {
			if fe := rowProblems(r.Line, err); fe != nil {
				bad = append(bad, fe...)
				continue
			}
			return err
		}
		if first, dup := lines[e.RegistrationCode]; dup {
			bad = append(bad, devices.FieldError{Row: r.Line, Field: "registration_code", Reason: "repeats line " + itoa(first)})
			continue
		}
		lines[e.RegistrationCode] = r.Line
		codes = append(codes, e.RegistrationCode)
		rows = append(rows, fromElevator(e))
	}
	for start := 0; start < len(codes); start += 1000 {
		var found []string
		if err := tx.Model(&elevatorRow{}).Where("registration_code IN ?", codes[start:min(start+1000, len(codes))]).
			Pluck("registration_code", &found).Error; err != nil {
			return err
		}
		for _, c := range found {
			bad = append(bad, devices.FieldError{Row: lines[c], Field: "registration_code",
				Reason: "an elevator with this registration code is already registered"})
		}
	}
	if len(bad) > 0 {
		return devices.Fields(bad)
	}
	return insertImported(s, tx, a, venueID, rows, registrationConflict, devices.ResourceElevator, "elevators_created",
		func(r elevatorRow) (string, devices.Changes) { return r.ID, created(elevatorFields(r.toElevator())) })
}

// importOnce runs an import under the request's idempotency key, if any.
func importOnce[T any](s *Store, ctx context.Context, a devices.Actor, venueID string, in []devices.ImportRow[T], resource string,
	run func(*gorm.DB, devices.Actor, string, []devices.ImportRow[T]) error) (int, error) {
	err := s.once(ctx, a, resource, func(tx *gorm.DB) (outcome, error) {
		return outcome{id: venueID, count: len(in)}, run(tx, a, venueID, in)
	})
	if err != nil {
		return 0, err
	}
	return len(in), nil
}

// insertImported writes an import's rows and its audit trail: a create
// event per row and one import event on the venue counting them.
func insertImported[R any](s *Store, tx *gorm.DB, a devices.Actor, venueID string, rows []R, conflict func(error) error,
	resource, counted string, event func(R) (string, devices.Changes)) error {
	if err := tx.CreateInBatches(rows, s.insertBatch()).Error; err != nil {
		return conflict(err)
	}
	audits := make([]*auditRow, 0, len(rows)+1)
	for _, r := range rows {
		id, changes := event(r)
		audits = append(audits, s.auditRow(a, devices.ActionCreate, resource, id, changes))
	}
	audits = append(audits, s.auditRow(a, devices.ActionImport, devices.ResourceVenue, venueID,
		devices.Changes{counted: {To: len(rows)}}))
	return tx.CreateInBatches(audits, s.insertBatch()).Error
}

// ExportThermometers implements devices.ThermometerStore.
func (s *Store) ExportThermometers(ctx context.Context, a devices.Actor, venueID string, fn func(devices.Thermometer) error) error {
	db := s.db.WithContext(ctx)
	if _, err := s.getVenue(db, a, venueID); err != nil {
		return err
	}
	var batch []thermometerRow
	return db.Scopes(thermometerScope(a)).Where("thermometers.venue_id = ?", venueID).
		FindInBatches(&batch, 1000, func(_ *gorm.DB, _ int) error {
			for _, r := range batch {
				t, err := r.toThermometer()
				if err != nil {
					return err
				}
				if err := fn(t); err != nil {
					return err
				}
			}
			return nil
		}).Error
}

// ExportElevators implements devices.ElevatorStore.
func (s *Store) ExportElevators(ctx context.Context, a devices.Actor, venueID string, fn func(devices.Elevator) error) error {
	db := s.db.WithContext(ctx)
	if _, err := s.getVenue(db, a, venueID); err != nil {
		return err
	}
	var batch []elevatorRow
	return db.Scopes(elevatorScope(a)).Where("elevators.venue_id = ?", venueID).
		FindInBatches(&batch, 1000, func(_ *gorm.DB, _ int) error {
			for _, r := range batch {
				if err := fn(r.toElevator()); err != nil {
					return err
				}
			}
			return nil
		}).Error
}
