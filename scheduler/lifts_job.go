package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/calibd/calibd/devices"
)

// JobLifts is the name of the lift maintenance job.
const JobLifts = "lifts"

// LiftsJob keeps lift maintenance on schedule: it expires extended-cycle
// agreements whose window ended (devices.MaintenanceStore.ExpireAgreements),
// then plans every active contract's on-site and remote-inspection tasks
// due within horizonDays, flags overdue and missed ones and reminds venue
// operators of periodic inspections (devices.LiftWorkStore.PlanLiftWork).
// It is idempotent: a repeated or concurrent run creates each task and
// raises each event once.
func LiftsJob(agreements devices.MaintenanceStore, work devices.LiftWorkStore, now func() time.Time, horizonDays int, spec string) Job {
	return Job{
		Name: JobLifts,
		Spec: spec,
		Run: func(ctx context.Context) (Result, error) {
			at := now()
			expired, err := agreements.ExpireAgreements(ctx, at)
			if err != nil {
				return Result{}, fmt.Errorf("expire agreements: %w", err)
			}
			rep, err := work.PlanLiftWork(ctx, at, horizonDays)
			if err != nil {
				return Result{}, err
			}
			rep.AgreementsExpired = expired
			return Result{Items: rep.AgreementsExpired + rep.Created + rep.Moved + rep.Cancelled + rep.Overdue + rep.Missed + rep.EventsRaised,
				Detail: fmt.Sprintf(
					"%d contracts planned; %d agreements expired; tasks: %d created, %d moved, %d cancelled within %d days; %d on-site tasks overdue, %d remote inspections missed; %d events raised",
					rep.Contracts, rep.AgreementsExpired, rep.Created, rep.Moved, rep.Cancelled, horizonDays, rep.Overdue, rep.Missed, rep.EventsRaised)}, nil
		},
	}
}
