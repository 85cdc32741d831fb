package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/calibd/calibd/devices"
)

// JobSilent is the name of the job that finds devices that stopped
// reporting.
const JobSilent = "silent"

// SilentJob opens a silent alert for every device with a current MQTT
// credential that has sent nothing for longer than the limit of its kind
// (devices.SilenceStore.RaiseSilent); the alert resolves itself when the
// device reports again. Idempotent: one open alert per device.
func SilentJob(store devices.SilenceStore, now func() time.Time, thermometer, elevator time.Duration, spec string) Job {
	return Job{
		Name: JobSilent,
		Spec: spec,
		Run: func(ctx context.Context) (Result, error) {
			rep, err := store.RaiseSilent(ctx, now(), thermometer, elevator)
			if err != nil {
				return Result{}, err
			}
			return Result{Items: rep.Raised, Detail: fmt.Sprintf("%d devices watched, %d silent (thermometers after %s, lifts after %s), %d silent alerts raised",
				rep.Watched, rep.Silent, thermometer, elevator, rep.Raised)}, nil
		},
	}
}
