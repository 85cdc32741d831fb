package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/migrations"
)

type eventRow struct {
	ID            string
	At            time.Time
	Kind          string
	Severity      string
	OperatorOrgID *string
	InstituteID   *string
	VenueID       *string
	Resource      string
	ResourceID    string
	Message       string
	DedupKey      string
}

func (eventRow) TableName() string { return "events" }

func (r eventRow) toEvent() devices.Event {
	return devices.Event{ID: r.ID, At: r.At.UTC(), Kind: devices.EventKind(r.Kind), Severity: devices.Severity(r.Severity),
		OperatorOrgID: r.OperatorOrgID, InstituteID: r.InstituteID, VenueID: r.VenueID,
		Resource: r.Resource, ResourceID: r.ResourceID, Message: r.Message}
}

// eventScope: the regulator sees every event, a venue operator those of
// its venues (lift events included), an institute those of the devices and
// tasks assigned to it; a maintenance firm none (events name no firm: the
// firm follows its tasks).
func eventScope(a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		switch a.OrgKind {
		case devices.KindRegulator:
			return q
		case devices.KindVenueOperator:
			return q.Where("events.operator_org_id = ?", a.OrgID)
		case devices.KindMetrologyInstitute:
			return q.Where("events.institute_id = ?", a.OrgID)
		}
		return q.Where("1 = 0")
	}
}

// GetEvent implements devices.EventStore.
func (s *Store) GetEvent(ctx context.Context, a devices.Actor, id string) (devices.Event, error) {
	if !devices.IsUUID(id) {
		return devices.Event{}, fmt.Errorf("event %q: %w", id, devices.ErrNotFound)
	}
	var row eventRow
	err := s.db.WithContext(ctx).Scopes(eventScope(a)).Where("events.id = ?", id).Take(&row).Error
	if err != nil {
		return devices.Event{}, translate(err, "event")
	}
	return row.toEvent(), nil
}

// ListEvents implements devices.EventStore: newest first (ids are
// time-ordered).
func (s *Store) ListEvents(ctx context.Context, a devices.Actor, f devices.EventFilter, p devices.Page) ([]devices.Event, string, error) {
	var pr devices.Problems
	if f.Kind != "" && !f.Kind.Valid() {
		pr.Add("kind", "is not a known event kind")
	}
	if f.VenueID != "" && !devices.IsUUID(f.VenueID) {
		pr.Add("venue_id", "is not an id")
	}
	if err := pr.Err(); err != nil {
		return nil, "", err
	}
	q := s.db.WithContext(ctx).Model(&eventRow{}).Scopes(eventScope(a))
	if f.Kind != "" {
		q = q.Where("events.kind = ?", string(f.Kind))
	}
	if f.VenueID != "" {
		q = q.Where("events.venue_id = ?", f.VenueID)
	}
	if f.Since != nil {
		q = q.Where("events.at >= ?", f.Since.UTC())
	}
	q, err := pageQuery(q, "events", &p, true)
	if err != nil {
		return nil, "", err
	}
	var rows []eventRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", translate(err, "events")
	}
	rows, next := cutPage(rows, p.Limit, func(r eventRow) string { return r.ID })
	out := make([]devices.Event, len(rows))
	for i, r := range rows {
		out[i] = r.toEvent()
	}
	return out, next, nil
}

// activeStatesSQL is activeTaskStates as an SQL list. The overdue queries
// spell their state and status conditions as literals, not parameters, so
// that PostgreSQL can match the partial indexes (calibration_tasks_overdue_watch,
// thermometers_next_due) in a cached generic plan too.
var activeStatesSQL = "('" + strings.Join(activeTaskStates, "', '") + "')"

// overdueBatch is how many candidates one step of the overdue job takes.
const overdueBatch = 2000

// overdueTask is an active task the overdue job looks at, with what its
// event names.
type overdueTask struct {
	ID            string
	VenueID       string
	OperatorOrgID string
	InstituteID   *string
	DueOn         calendarDate
	Priority      int
	TimeZone      string
	VenueName     string
	Manufacturer  string
	Model         string
	Serial        string
}

// overdueDevice is a thermometer the overdue job looks at.
type overdueDevice struct {
	ID            string
	VenueID       string
	OperatorOrgID string
	InstituteID   *string
	Status        string
	NextDueAt     time.Time
	Manufacturer  string
	Model         string
	Serial        string
	VenueKind     string
	VenueName     string
	TimeZone      string
}

// zoneCache loads each venue time zone once per run.
type zoneCache map[string]*time.Location

func (z zoneCache) get(name string) *time.Location {
	if loc, ok := z[name]; ok {
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC // validated on write; a zone the host lacks is judged in UTC
	}
	z[name] = loc
	return loc
}

// MarkOverdue implements devices.EventStore. Both passes narrow their
// candidates in SQL (an index range, so the cost follows the number of
// overdue items, not the number registered), walk them in keyset batches
// by id, and judge each in its venue's time zone.
//
// Every write is idempotent on its own, so no transaction is needed and a
// crash between two writes loses nothing: events are inserted first with
// ON CONFLICT DO NOTHING on their dedup key, then the tasks are marked only
// where overdue_since is still NULL. A repeated or concurrent run therefore
// raises each event once and marks each task once, and the counts it
// reports are what it really wrote.
func (s *Store) MarkOverdue(ctx context.Context, now time.Time) (devices.OverdueReport, error) {
	var rep devices.OverdueReport
	now = now.UTC()
	zones := zoneCache{}
	if err := s.markOverdueTasks(ctx, now, zones, &rep); err != nil {
		return rep, fmt.Errorf("overdue tasks: %w", err)
	}
	if err := s.raiseOverdueDevices(ctx, now, zones, &rep); err != nil {
		return rep, fmt.Errorf("overdue devices: %w", err)
	}
	return rep, nil
}

func (s *Store) markOverdueTasks(ctx context.Context, now time.Time, zones zoneCache, rep *devices.OverdueReport) error {
	// No venue's today is later than tomorrow in UTC (UTC+14 at most), so
	// a task due before some venue's today is due before that.
	cutoff := calendarDate(now.AddDate(0, 0, 1).Format(dateLayout))
	after := ""
	for {
		var cands []overdueTask
		q := s.db.WithContext(ctx).Table("calibration_tasks AS k").
			Select("k.id, k.venue_id, k.operator_org_id, k.institute_id, k.due_on, k.priority, "+
				"v.time_zone, v.name AS venue_name, t.manufacturer, t.model, t.serial").
			Joins("JOIN venues v ON v.id = k.venue_id").
			Joins("JOIN thermometers t ON t.id = k.thermometer_id").
			Where("k.state IN "+activeStatesSQL+" AND k.overdue_since IS NULL AND k.due_on < ?", cutoff)
		if after != "" {
			q = q.Where("k.id > ?", after)
		}
		if err := q.Order("k.id").Limit(overdueBatch).Find(&cands).Error; err != nil {
			return err
		}
		if len(cands) == 0 {
			return nil
		}
		after = cands[len(cands)-1].ID
		var events []eventRow
		var marked []string
		stamp := s.now()
		for _, c := range cands {
			today := now.In(zones.get(c.TimeZone)).Format(dateLayout)
			if string(c.DueOn) >= today {
				continue
			}
			sev := devices.SeverityWarning
			if c.Priority == devices.PriorityOutOfTolerance {
				sev = devices.SeverityCritical
			}
			marked = append(marked, c.ID)
			events = append(events, eventRow{ID: newID(), At: stamp, Kind: string(devices.EventTaskOverdue),
				Severity: string(sev), OperatorOrgID: &c.OperatorOrgID, InstituteID: c.InstituteID, VenueID: &c.VenueID,
				Resource: devices.EventResourceTask, ResourceID: c.ID,
				Message: fmt.Sprintf("Calibration of thermometer %s %s (serial %s) at %s was due on %s and is not done",
					c.Manufacturer, c.Model, c.Serial, c.VenueName, c.DueOn),
				DedupKey: string(devices.EventTaskOverdue) + ":" + c.ID})
		}
		n, err := s.raise(ctx, events)
		if err != nil {
			return err
		}
		rep.EventsRaised += n
		for chunk := range slices.Chunk(marked, s.insertBatch()) {
			n, err := s.markTasks(ctx, chunk, now)
			if err != nil {
				return err
			}
			rep.TasksMarked += n
		}
		if len(cands) < overdueBatch {
			return nil
		}
	}
}

// markTasks sets overdue_since on those of ids still active and unmarked
// and reports how many it changed. It leaves version and updated_at alone:
// the mark is the job's finding, not an edit a client could conflict with.
// On PostgreSQL the rows are locked in id order first, so concurrent runs
// queue behind each other instead of deadlocking; SQLite has one writer.
func (s *Store) markTasks(ctx context.Context, ids []string, now time.Time) (int, error) {
	db := s.db.WithContext(ctx)
	target := db.Model(&taskRow{}).Select("id").
		Where("id IN ? AND overdue_since IS NULL AND state IN ?", ids, activeTaskStates)
	if s.dialect == migrations.Postgres {
		target = target.Order("id").Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	res := db.Model(&taskRow{}).Where("id IN (?) AND overdue_since IS NULL", target).UpdateColumn("overdue_since", now)
	return int(res.RowsAffected), res.Error
}

func (s *Store) raiseOverdueDevices(ctx context.Context, now time.Time, zones zoneCache, rep *devices.OverdueReport) error {
	// A device is overdue when its due date in the venue's zone is before
	// today's there, so it fell due before the local midnight that began
	// today, which is no later than now: next_due_at < now is exact in
	// every zone and stays on the next_due_at index.
	after := ""
	for {
		var cands []overdueDevice
		q := s.db.WithContext(ctx).Table("thermometers AS t").
			Select("t.id, t.venue_id, t.operator_org_id, t.institute_id, t.status, t.next_due_at, "+
				"t.manufacturer, t.model, t.serial, v.kind AS venue_kind, v.name AS venue_name, v.time_zone").
			Joins("JOIN venues v ON v.id = t.venue_id").
			Where("t.status <> '"+string(devices.StatusRetired)+"' AND t.next_due_at < ?", now)
		if after != "" {
			q = q.Where("t.id > ?", after)
		}
		if err := q.Order("t.id").Limit(overdueBatch).Find(&cands).Error; err != nil {
			return err
		}
		if len(cands) == 0 {
			return nil
		}
		after = cands[len(cands)-1].ID
		var events []eventRow
		stamp := s.now()
		for _, c := range cands {
			loc := zones.get(c.TimeZone)
			if devices.DueStateAt(c.NextDueAt, now, 0, loc) != devices.DueOverdue {
				continue
			}
			rep.DevicesOverdue++
			sev := devices.SeverityWarning
			if prio, _ := devices.TaskPriority(devices.ThermometerStatus(c.Status), devices.VenueKind(c.VenueKind)); prio == devices.PriorityOutOfTolerance {
				sev = devices.SeverityCritical
			}
			dueOn := c.NextDueAt.In(loc).Format(dateLayout)
			events = append(events, eventRow{ID: newID(), At: stamp, Kind: string(devices.EventDeviceOverdue),
				Severity: string(sev), OperatorOrgID: &c.OperatorOrgID, InstituteID: c.InstituteID, VenueID: &c.VenueID,
				Resource: devices.EventResourceThermometer, ResourceID: c.ID,
				Message: fmt.Sprintf("Thermometer %s %s (serial %s) at %s was due for calibration on %s and is overdue",
					c.Manufacturer, c.Model, c.Serial, c.VenueName, dueOn),
				DedupKey: string(devices.EventDeviceOverdue) + ":" + c.ID + ":" + dueOn})
		}
		n, err := s.raise(ctx, events)
		if err != nil {
			return err
		}
		rep.EventsRaised += n
		if len(cands) < overdueBatch {
			return nil
		}
	}
}

// raise inserts events, skipping any whose dedup key exists, and reports
// how many it inserted. Rows go in dedup-key order so that concurrent
// inserts of overlapping sets wait for each other rather than deadlock.
func (s *Store) raise(ctx context.Context, events []eventRow) (int, error) {
	return s.raiseIn(s.db.WithContext(ctx), events)
}

// raiseIn is raise on q, a transaction whose other writes the events
// belong with.
func (s *Store) raiseIn(q *gorm.DB, events []eventRow) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	slices.SortFunc(events, func(a, b eventRow) int { return strings.Compare(a.DedupKey, b.DedupKey) })
	res := q.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(events, s.insertBatch())
	return int(res.RowsAffected), res.Error
}
