// Package scheduler decides WHEN and WHO: calibration intervals and due
// dates, tasks, visits and capacity planning, venue requests, elevator
// maintenance contracts and extended-cycle agreements, and the jobs that
// create them. It imports devices, never internal/.
//
// A Runner executes the jobs. A job is registered by name with a cron spec
// from configuration, and every run, whether fired by cron or requested
// through RunNow, takes the same path:
//
//  1. skip (skipped_running) if this process is already running the job;
//  2. take the job's Locker lock, or skip (skipped_locked) if another
//     replica holds it: on PostgreSQL the lock is an advisory lock, so one
//     replica executes a tick; on SQLite one process runs everything and
//     LocalLocker suffices;
//  3. run the job under a timeout, turning a panic into a failed run;
//  4. log the outcome, count it in the calibd_scheduler_* metrics and keep
//     it as the job's last Run.
//
// The lock only keeps replicas from doing the same work at the same time;
// jobs must still be idempotent (tasks carry unique keys), because a tick
// may run again on another replica once the lock is released.
package scheduler
