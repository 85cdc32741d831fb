package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/scheduler"
)

type taskJSON struct {
	ID             string     `json:"id"`
	Kind           string     `json:"kind"`
	ThermometerID  string     `json:"thermometer_id"`
	VenueID        string     `json:"venue_id"`
	OperatorOrgID  string     `json:"operator_org_id"`
	InstituteID    *string    `json:"institute_id"`
	VisitID        *string    `json:"visit_id"`
	RequestID      *string    `json:"request_id"`
	OverdueSince   *time.Time `json:"overdue_since"`
	DueAt          time.Time  `json:"due_at"`
	DueOn          string     `json:"due_on"`
	State          string     `json:"state"`
	Priority       int        `json:"priority"`
	PriorityReason string     `json:"priority_reason"`
	CancelReason   string     `json:"cancel_reason"`
	Version        int        `json:"version"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func toTaskJSON(t devices.Task) taskJSON {
	return taskJSON{ID: t.ID, Kind: string(t.Kind), ThermometerID: t.ThermometerID, VenueID: t.VenueID,
		OperatorOrgID: t.OperatorOrgID, InstituteID: t.InstituteID, VisitID: t.VisitID, RequestID: t.RequestID, OverdueSince: t.OverdueSince, DueAt: t.DueAt, DueOn: t.DueOn,
		State: string(t.State), Priority: t.Priority, PriorityReason: t.PriorityReason,
		CancelReason: t.CancelReason, Version: t.Version, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func (s *Server) listTasks(c *gin.Context) {
	q := newQuery(c, "institute_id", "venue_id", "thermometer_id", "state", "kind")
	f := devices.TaskFilter{
		InstituteID:   q.id("institute_id"),
		VenueID:       q.id("venue_id"),
		ThermometerID: q.id("thermometer_id"),
		State: devices.TaskState(q.enum("state", func(v string) bool { return devices.TaskState(v).Valid() },
			joinStrings(devices.TaskStates))),
		Kind: devices.TaskKind(q.enum("kind", func(v string) bool { return devices.TaskKind(v).Valid() },
			joinStrings(devices.TaskKinds))),
	}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListTasks(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toTaskJSON))
}

func (s *Server) getTask(c *gin.Context) {
	t, err := s.reg.GetTask(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, t, err, toTaskJSON, t.Version)
}

// JobRunner is the scheduler as the API sees it (*scheduler.Runner).
type JobRunner interface {
	RunNow(ctx context.Context, name string) (scheduler.Run, error)
	Jobs() []scheduler.JobInfo
}

type runJSON struct {
	Job        string    `json:"job"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Outcome    string    `json:"outcome"`
	Items      int       `json:"items"`
	Detail     string    `json:"detail"`
	Error      string    `json:"error"`
}

func toRunJSON(r scheduler.Run) runJSON {
	return runJSON{Job: r.Job, StartedAt: r.Started, FinishedAt: r.Finished, Outcome: string(r.Outcome),
		Items: r.Items, Detail: r.Detail, Error: r.Err}
}

type jobJSON struct {
	Name      string     `json:"name"`
	Spec      string     `json:"spec"`
	NextRunAt *time.Time `json:"next_run_at"`
	Running   bool       `json:"running"`
	LastRun   *runJSON   `json:"last_run"`
}

// jobsForbidden: the scheduler is the regulator's to watch and drive.
func jobsForbidden(a devices.Actor, run bool) error {
	switch {
	case !a.IsRegulator():
		return devices.Forbidden("only the regulator sees and runs scheduler jobs")
	case run && !a.IsAdmin():
		return devices.Forbidden("only a regulator admin runs scheduler jobs")
	}
	return nil
}

func (s *Server) listJobs(c *gin.Context) {
	if err := jobsForbidden(actorOf(c), false); err != nil {
		s.fail(c, err)
		return
	}
	if s.cfg.Jobs == nil {
		s.fail(c, errNoScheduler)
		return
	}
	infos := s.cfg.Jobs.Jobs()
	out := make([]jobJSON, len(infos))
	for i, j := range infos {
		out[i] = jobJSON{Name: j.Name, Spec: j.Spec, Running: j.Running}
		if !j.Next.IsZero() {
			next := j.Next
			out[i].NextRunAt = &next
		}
		if j.Last != nil {
			last := toRunJSON(*j.Last)
			out[i].LastRun = &last
		}
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
}

func (s *Server) runJob(c *gin.Context) {
	if err := jobsForbidden(actorOf(c), true); err != nil {
		s.fail(c, err)
		return
	}
	if s.cfg.Jobs == nil {
		s.fail(c, errNoScheduler)
		return
	}
	// The run finishes even if the client goes away: a half-run job would
	// only be finished by the next tick anyway.
	run, err := s.cfg.Jobs.RunNow(context.WithoutCancel(c.Request.Context()), c.Param("name"))
	if errors.Is(err, scheduler.ErrUnknownJob) {
		s.fail(c, statusError(http.StatusNotFound, "not_found", "no scheduler job %q; GET /api/v1/scheduler/jobs lists them", c.Param("name")))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	s.log.InfoContext(c.Request.Context(), "scheduler job run on demand", "job", run.Job, "outcome", run.Outcome,
		"items", run.Items, "token_id", actorOf(c).TokenID)
	c.JSON(http.StatusOK, toRunJSON(run))
}

var errNoScheduler = statusError(http.StatusServiceUnavailable, "scheduler_unavailable", "this server runs no scheduler")

// cancelTask: the institute ends an active task with a reason
// ({"reason", "version"?} or If-Match).
func (s *Server) cancelTask(c *gin.Context) {
	version, f, err := s.actionBody(c, "reason")
	if err != nil {
		s.fail(c, err)
		return
	}
	t, err := s.reg.CancelTask(c.Request.Context(), actorOf(c), c.Param("id"), version, f["reason"])
	one(s, c, http.StatusOK, t, err, toTaskJSON, t.Version)
}
