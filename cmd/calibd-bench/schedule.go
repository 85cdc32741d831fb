package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/calibd/calibd/devices"
	"github.com/calibd/calibd/internal/store"
)

// ScheduleResult is one size's timing of a scheduler tick (plan, then
// visits), as written to its results file.
type ScheduleResult struct {
	Devices   int       `json:"devices"`
	Due       int       `json:"due"`
	Runs      int       `json:"runs"`
	PlanMS    []float64 `json:"plan_ms"`
	VisitsMS  []float64 `json:"visits_ms"`
	TotalMS   []float64 `json:"total_ms"`
	MedianMS  float64   `json:"median_total_ms"`
	Tasks     int       `json:"tasks"`
	Visits    int       `json:"visits"`
	Unplaced  int       `json:"unplaced"`
	Started   time.Time `json:"started"`
	SetupNote string    `json:"setup"`
}

// scheduleCmd times calibd's own plan and visits jobs (the store methods a
// scheduler tick calls) on a seeded database in which exactly --due
// thermometers fall due within the horizon and every other one is due in
// over a year. Each run starts from no tasks and no visits.
func scheduleCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("schedule")
	db := fs.String("db", "", "PostgreSQL URL of a database seeded by `seed` (loopback only)")
	due := fs.Int("due", 10000, "thermometers to make due within the horizon")
	runs := fs.Int("runs", 3, "ticks to time; the median is reported")
	out := fs.String("json-out", "", "append the result as a JSON line to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkLoopbackDB(*db); err != nil {
		return err
	}
	if *due <= 0 || *runs <= 0 {
		return errors.New("schedule: --due and --runs must be positive")
	}
	conn, err := pgx.Connect(ctx, *db)
	if err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	defer conn.Close(ctx)
	res := ScheduleResult{Due: *due, Runs: *runs, Started: time.Now().UTC()}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM thermometers").Scan(&res.Devices); err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	// Everyone due in 400 days; then --due in-service, assigned devices
	// spread over the whole id range due in 0..19 days.
	setup := []string{
		"DELETE FROM calibration_tasks",
		"DELETE FROM visits",
		"UPDATE thermometers SET next_due_at = now() + interval '400 days'",
		fmt.Sprintf(`UPDATE thermometers SET next_due_at = now() + make_interval(days => (abs(hashtext(id::text)) %% 20))
			WHERE id IN (SELECT id FROM thermometers WHERE status = 'in_service' AND institute_id IS NOT NULL
			ORDER BY hashtext(id::text) LIMIT %d)`, *due),
		"VACUUM (ANALYZE) thermometers",
	}
	t0 := time.Now()
	for _, q := range setup {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("schedule: setup %q: %w", strings.Fields(q)[0], err)
		}
	}
	res.SetupNote = fmt.Sprintf("%.1f s to make %d of %d due", time.Since(t0).Seconds(), *due, res.Devices)
	fmt.Fprintf(stdout, "schedule: %s\n", res.SetupNote)

	st, err := store.Open(ctx, store.Config{URL: *db, MaxOpenConns: 8}, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	defer st.Close()
	for run := 1; run <= *runs; run++ {
		for _, q := range []string{"DELETE FROM calibration_tasks", "DELETE FROM visits"} {
			if _, err := conn.Exec(ctx, q); err != nil {
				return fmt.Errorf("schedule: reset: %w", err)
			}
		}
		now := time.Now()
		start := time.Now()
		plan, err := st.PlanCalibrations(ctx, now, devices.DefaultDueHorizonDays)
		if err != nil {
			return fmt.Errorf("schedule: plan: %w", err)
		}
		mid := time.Now()
		vis, err := st.PlanVisits(ctx, now, 60)
		if err != nil {
			return fmt.Errorf("schedule: visits: %w", err)
		}
		end := time.Now()
		res.PlanMS = append(res.PlanMS, ms(mid.Sub(start)))
		res.VisitsMS = append(res.VisitsMS, ms(end.Sub(mid)))
		res.TotalMS = append(res.TotalMS, ms(end.Sub(start)))
		res.Tasks, res.Visits, res.Unplaced = plan.Created, vis.Planned, vis.Unplaced
		fmt.Fprintf(stdout, "schedule: run %d at %d devices: plan %.0f ms (%d tasks), visits %.0f ms (%d visits, %d tasks unplaced)\n",
			run, res.Devices, ms(mid.Sub(start)), plan.Created, ms(end.Sub(mid)), vis.Planned, vis.Unplaced)
	}
	res.MedianMS = median(res.TotalMS)
	fmt.Fprintf(stdout, "schedule: median tick %.0f ms at %d devices with %d due\n", res.MedianMS, res.Devices, *due)
	if *out != "" {
		return appendJSONLine(*out, res)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
