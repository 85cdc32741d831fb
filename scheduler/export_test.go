package scheduler

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// UseExactEvery makes r read the "@every d" specs registered after the call
// as exact intervals, below cron's one-second floor, so that tests can watch
// real ticks in milliseconds. Other specs parse as in production.
func UseExactEvery(r *Runner) {
	r.parse = func(spec string) (cron.Schedule, error) {
		s, ok := strings.CutPrefix(spec, "@every ")
		if !ok {
			return cron.ParseStandard(spec)
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("bad interval %q", s)
		}
		return exactEvery(d), nil
	}
}

type exactEvery time.Duration

func (e exactEvery) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }
