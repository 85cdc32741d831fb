package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/calibd/calibd/devices"
)

// JobOverdue is the name of the overdue job.
const JobOverdue = "overdue"

// OverdueJob marks every active calibration task past its due date and
// raises events for overdue tasks and thermometers, visible to the venue
// operator, the assigned institute and the regulator
// (devices.EventStore.MarkOverdue). It is idempotent: a repeated or
// concurrent run marks each task and raises each event once.
func OverdueJob(events devices.EventStore, now func() time.Time, spec string) Job {
	return Job{
		Name: JobOverdue,
		Spec: spec,
		Run: func(ctx context.Context) (Result, error) {
			rep, err := events.MarkOverdue(ctx, now())
			if err != nil {
				return Result{}, err
			}
			return Result{Items: rep.TasksMarked + rep.EventsRaised, Detail: fmt.Sprintf(
				"%d tasks marked overdue; %d thermometers overdue; %d events raised",
				rep.TasksMarked, rep.DevicesOverdue, rep.EventsRaised)}, nil
		},
	}
}
