// Package scheduler will decide WHEN and WHO: calibration intervals and due
// dates, tasks, visits and capacity planning, venue requests, elevator
// maintenance contracts and extended-cycle agreements, and the cron-driven
// jobs that create them. It imports devices, never internal/.
//
// The foundation issue only reserves the package; the calibration-scheduling
// issue fills it.
package scheduler
