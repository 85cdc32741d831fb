package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/calibd/calibd/devices"
)

// Names of calibd's jobs, as used in configuration, metrics, locks and
// POST /api/v1/scheduler/jobs/{name}/run.
const (
	JobPlan   = "plan"
	JobVisits = "visits"
)

// JobOverdue is declared with OverdueJob (overdue_job.go).

// VisitsJob groups every institute's open tasks into visits on days within
// its capacity (devices.VisitStore.PlanVisits); confirmed visits never move.
func VisitsJob(visits devices.VisitStore, now func() time.Time, horizonDays int, spec string) Job {
	return Job{
		Name: JobVisits,
		Spec: spec,
		Run: func(ctx context.Context) (Result, error) {
			rep, err := visits.PlanVisits(ctx, now(), horizonDays)
			if err != nil {
				return Result{}, err
			}
			return Result{Items: rep.Planned + rep.Emptied, Detail: fmt.Sprintf(
				"%d institutes planned: %d visits created or moved, %d unchanged, %d emptied and cancelled; %d open tasks found no day within %d days",
				rep.Institutes, rep.Planned, rep.Unchanged, rep.Emptied, rep.Unplaced, horizonDays)}, nil
		},
	}
}

// PlanJob creates an on-site calibration task for every thermometer due
// within horizonDays that has none (devices.TaskStore.PlanCalibrations).
// It is idempotent: a repeated or concurrent run creates nothing twice.
func PlanJob(tasks devices.TaskStore, now func() time.Time, horizonDays int, spec string) Job {
	return Job{
		Name: JobPlan,
		Spec: spec,
		Run: func(ctx context.Context) (Result, error) {
			rep, err := tasks.PlanCalibrations(ctx, now(), horizonDays)
			if err != nil {
				return Result{}, err
			}
			return Result{Items: rep.Created, Detail: fmt.Sprintf(
				"%d thermometers due within %d days without a task; %d tasks created; %d of the due have no institute assigned; %d due dates deferred by an emergency deferral",
				rep.Due, horizonDays, rep.Created, rep.Unassigned, rep.Deferred)}, nil
		},
	}
}
