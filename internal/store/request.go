package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibd/calibd/devices"
)

// ResourceRequest names calibration requests in the audit log.
const ResourceRequest = devices.ResourceRequest

type requestRow struct {
	ID             string
	OperatorOrgID  string
	VenueID        string
	InstituteID    string
	ThermometerIDs string // comma-separated
	Reason         string
	WindowFrom     calendarDate
	WindowTo       calendarDate
	State          string
	ProposedFrom   *calendarDate
	ProposedTo     *calendarDate
	Answer         string
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (requestRow) TableName() string { return "calibration_requests" }

func (r requestRow) toRequest(taskIDs []string) devices.CalibrationRequest {
	out := devices.CalibrationRequest{ID: r.ID, OperatorOrgID: r.OperatorOrgID, VenueID: r.VenueID, InstituteID: r.InstituteID,
		ThermometerIDs: strings.Split(r.ThermometerIDs, ","), Reason: r.Reason, WindowFrom: string(r.WindowFrom),
		WindowTo: string(r.WindowTo), State: devices.RequestState(r.State), Answer: r.Answer, TaskIDs: taskIDs,
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.ProposedFrom != nil {
		out.ProposedFrom = string(*r.ProposedFrom)
	}
	if r.ProposedTo != nil {
		out.ProposedTo = string(*r.ProposedTo)
	}
	if out.TaskIDs == nil {
		out.TaskIDs = []string{}
	}
	return out
}

// requestScope: the regulator sees every request, the operator its own,
// the institute those addressed to it.
func requestScope(a devices.Actor) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		switch a.OrgKind {
		case devices.KindRegulator:
			return q
		case devices.KindVenueOperator:
			return q.Where("calibration_requests.operator_org_id = ?", a.OrgID)
		case devices.KindMetrologyInstitute:
			return q.Where("calibration_requests.institute_id = ?", a.OrgID)
		}
		return q.Where("1 = 0")
	}
}

// CreateRequest implements devices.RequestStore: the venue's operator
// names thermometers of one of its venues, all assigned to one institute.
func (s *Store) CreateRequest(ctx context.Context, a devices.Actor, r *devices.CalibrationRequest) error {
	if err := r.Validate(); err != nil {
		return err
	}
	for i, id := range r.ThermometerIDs {
		r.ThermometerIDs[i] = strings.ToLower(id)
	}
	return s.once(ctx, a, ResourceRequest, func(tx *gorm.DB) (outcome, error) {
		venue, err := s.writableVenue(tx, a, r.VenueID)
		if err != nil {
			return outcome{}, err
		}
		var rows []thermometerRow
		if err := tx.Scopes(thermometerScope(a)).Where("thermometers.id IN ? AND thermometers.venue_id = ?", r.ThermometerIDs, venue.ID).
			Find(&rows).Error; err != nil {
			return outcome{}, err
		}
		byID := map[string]thermometerRow{}
		for _, t := range rows {
			byID[t.ID] = t
		}
		var p devices.Problems
		institute := ""
		for i, id := range r.ThermometerIDs {
			f := "thermometer_ids[" + strconv.Itoa(i) + "]"
			t, ok := byID[id]
			switch {
			case !ok:
				p.Add(f, "is not a thermometer of this venue")
			case t.Status == string(devices.StatusRetired):
				p.Add(f, "is retired")
			case t.InstituteID == nil:
				p.Add(f, "has no metrology institute assigned; assign one first")
			case institute == "":
				institute = *t.InstituteID
			case *t.InstituteID != institute:
				p.Add(f, "is assigned to another institute than the thermometers before it; send one request per institute")
			}
		}
		if err := p.Err(); err != nil {
			return outcome{}, err
		}
		now := s.now()
		r.ID, r.OperatorOrgID, r.InstituteID, r.State, r.Version = newID(), venue.OperatorOrgID, institute, devices.RequestRequested, 1
		r.CreatedAt, r.UpdatedAt, r.TaskIDs, r.Answer, r.ProposedFrom, r.ProposedTo = now, now, []string{}, "", "", ""
		row := requestRow{ID: r.ID, OperatorOrgID: r.OperatorOrgID, VenueID: r.VenueID, InstituteID: institute,
			ThermometerIDs: strings.Join(r.ThermometerIDs, ","), Reason: r.Reason, WindowFrom: calendarDate(r.WindowFrom),
			WindowTo: calendarDate(r.WindowTo), State: string(r.State), Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&row).Error; err != nil {
			return outcome{}, translate(err, "request")
		}
		return outcome{id: r.ID}, s.audit(tx, a, devices.ActionCreate, ResourceRequest, r.ID, created(map[string]any{
			"venue_id": r.VenueID, "institute_id": institute, "thermometer_ids": r.ThermometerIDs, "reason": r.Reason,
			"window_from": r.WindowFrom, "window_to": r.WindowTo}))
	})
}

func (s *Store) requestTasks(q *gorm.DB, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct{ ID, RequestID string }
	err := q.Table("calibration_tasks").Select("id, request_id").Where("request_id IN ?", ids).Order("id").Find(&rows).Error
	for _, r := range rows {
		out[r.RequestID] = append(out[r.RequestID], r.ID)
	}
	return out, err
}

func (s *Store) getRequest(q *gorm.DB, a devices.Actor, id string) (requestRow, error) {
	return takeVisible[requestRow](q, requestScope(a), "calibration_requests", "request", id)
}

// GetRequest implements devices.RequestStore.
func (s *Store) GetRequest(ctx context.Context, a devices.Actor, id string) (devices.CalibrationRequest, error) {
	q := s.db.WithContext(ctx)
	row, err := s.getRequest(q, a, id)
	if err != nil {
		return devices.CalibrationRequest{}, err
	}
	tasks, err := s.requestTasks(q, []string{row.ID})
	return row.toRequest(tasks[row.ID]), err
}

// ListRequests implements devices.RequestStore.
func (s *Store) ListRequests(ctx context.Context, a devices.Actor, f devices.RequestFilter, p devices.Page) ([]devices.CalibrationRequest, string, error) {
	q := s.db.WithContext(ctx).Model(&requestRow{}).Scopes(requestScope(a))
	if f.VenueID != "" {
		q = q.Where("calibration_requests.venue_id = ?", f.VenueID)
	}
	if f.InstituteID != "" {
		q = q.Where("calibration_requests.institute_id = ?", f.InstituteID)
	}
	if f.State != "" {
		q = q.Where("calibration_requests.state = ?", string(f.State))
	}
	q, err := pageQuery(q, "calibration_requests", &p, false)
	if err != nil {
		return nil, "", err
	}
	var rows []requestRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", translate(err, "requests")
	}
	rows, next := cutPage(rows, p.Limit, func(r requestRow) string { return r.ID })
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	tasks, err := s.requestTasks(s.db.WithContext(ctx), ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]devices.CalibrationRequest, len(rows))
	for i, r := range rows {
		out[i] = r.toRequest(tasks[r.ID])
	}
	return out, next, nil
}

// ActOnRequest implements devices.RequestStore. Accepting (or accepting a
// proposal) creates an open venue_request task, due at the start of the
// window's last day in the venue's zone, for every listed thermometer that
// has no active task; the visits job then places them.
func (s *Store) ActOnRequest(ctx context.Context, a devices.Actor, id string, version int, action devices.RequestAction,
	note, from, to string) (devices.CalibrationRequest, error) {
	var out devices.CalibrationRequest
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := s.getRequest(tx, a, id)
		if err != nil {
			return err
		}
		switch {
		case action.ByInstitute() && a.OrgID != row.InstituteID:
			return devices.Forbidden("only the institute the request is addressed to answers it")
		case !action.ByInstitute() && (a.OrgID != row.OperatorOrgID || !a.CanWriteRegistry()):
			return devices.Forbidden("only the venue's operator accepts a proposal or withdraws its request")
		}
		if version != devices.AnyVersion && version != row.Version {
			return devices.ErrPreconditionFailed
		}
		to2, err := devices.RequestState(row.State).Next(action)
		if err != nil {
			return err
		}
		note = strings.TrimSpace(note)
		updates := map[string]any{"state": string(to2), "version": row.Version + 1, "updated_at": s.now()}
		changes := devices.Changes{"state": {From: row.State, To: string(to2)}}
		switch action {
		case devices.RequestPropose:
			if err := devices.CheckProposal(from, to); err != nil {
				return err
			}
			updates["proposed_from"], updates["proposed_to"] = calendarDate(from), calendarDate(to)
			changes["proposed_window"] = devices.Change{To: from + "/" + to}
		case devices.RequestDecline:
			if note == "" {
				return devices.Invalid("note", "say why the request is declined")
			}
		case devices.RequestAccept, devices.RequestAcceptProposal:
			due := string(row.WindowTo)
			if action == devices.RequestAcceptProposal && row.ProposedTo != nil {
				due = string(*row.ProposedTo)
			}
			n, err := s.requestedTasks(tx, row, due)
			if err != nil {
				return err
			}
			changes["tasks_created"] = devices.Change{To: n}
		}
		if note != "" {
			updates["answer"] = note
			changes["answer"] = devices.Change{From: row.Answer, To: note}
		}
		if err := updateAt(tx, &requestRow{}, row.ID, row.Version, updates); err != nil {
			return err
		}
		if err := s.audit(tx, a, string(action), ResourceRequest, row.ID, changes); err != nil {
			return err
		}
		fresh, err := s.getRequest(tx, a, row.ID)
		if err != nil {
			return err
		}
		tasks, err := s.requestTasks(tx, []string{row.ID})
		out = fresh.toRequest(tasks[row.ID])
		return err
	})
	return out, err
}

// requestedTasks creates the accepted request's tasks and reports how many.
func (s *Store) requestedTasks(tx *gorm.DB, r requestRow, dueOn string) (int, error) {
	var venue venueRow
	if err := tx.Where("id = ?", r.VenueID).Take(&venue).Error; err != nil {
		return 0, err
	}
	day, err := time.Parse(dateLayout, dueOn)
	if err != nil {
		return 0, err
	}
	dueAt := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, s.zone(venue.TimeZone)).UTC()
	var cands []thermometerRow
	if err := tx.Where("id IN ? AND status <> ?", strings.Split(r.ThermometerIDs, ","), string(devices.StatusRetired)).
		Where("NOT EXISTS (SELECT 1 FROM calibration_tasks k WHERE k.thermometer_id = thermometers.id AND k.state IN ?)", activeTaskStates).
		Order("id").Find(&cands).Error; err != nil {
		return 0, err
	}
	if len(cands) == 0 {
		return 0, nil
	}
	now := s.now()
	rows := make([]taskRow, len(cands))
	for i, c := range cands {
		prio, why := devices.TaskPriority(devices.ThermometerStatus(c.Status), devices.VenueKind(venue.Kind))
		reqID, inst := r.ID, r.InstituteID
		rows[i] = taskRow{ID: newID(), Kind: string(devices.TaskVenueRequest), ThermometerID: c.ID, VenueID: c.VenueID,
			OperatorOrgID: c.OperatorOrgID, InstituteID: &inst, RequestID: &reqID, DueAt: dueAt,
			DueOn: calendarDate(dueOn), State: string(devices.TaskOpen), Priority: prio,
			PriorityReason: why + "; requested by the venue", Version: 1, CreatedAt: now, UpdatedAt: now}
	}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, s.insertBatch())
	return int(res.RowsAffected), res.Error
}
