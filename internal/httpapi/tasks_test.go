package httpapi_test

import (
	"testing"
)

// TestSchedulerAPI: the regulator lists the jobs and runs one now through
// the scheduler; the run reports what it did, a second run creates
// nothing; other organizations and regulator members get 403, an unknown
// job 404.
func TestSchedulerAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a) // runs plan once
		jobs := a.must(req{method: "GET", path: "/api/v1/scheduler/jobs", token: w.reg}, 200).json(t)["items"].([]any)
		if len(jobs) == 0 || jobs[0].(map[string]any)["name"] != "plan" {
			t.Fatalf("jobs = %v; want plan listed", jobs)
		}
		last, _ := jobs[0].(map[string]any)["last_run"].(map[string]any)
		if last == nil || last["outcome"] != "succeeded" || last["items"] != float64(3) {
			t.Errorf("plan's last run = %v; want succeeded with the world's 3 due thermometers", last)
		}

		// A new due thermometer: the next run plans exactly it.
		a.thermometer(w.adminA, w.venueA, "A-3", w.inst)
		r := a.must(req{method: "POST", path: "/api/v1/scheduler/jobs/plan/run", token: w.reg}, 200).json(t)
		if r["outcome"] != "succeeded" || r["items"] != float64(1) || r["job"] != "plan" {
			t.Errorf("plan run = %v; want succeeded with 1 item", r)
		}
		r = a.must(req{method: "POST", path: "/api/v1/scheduler/jobs/plan/run", token: w.reg}, 200).json(t)
		if r["items"] != float64(0) {
			t.Errorf("repeated plan run = %v; want 0 items", r)
		}

		regMember, _ := a.token(w.reg, w.regOrg, "member")
		for _, tok := range []string{w.adminA, w.instTok, w.firmTok, regMember} {
			if got := a.do(req{method: "POST", path: "/api/v1/scheduler/jobs/plan/run", token: tok}); got.Status != 403 {
				t.Errorf("run by a non-admin-regulator token = %d, want 403: %s", got.Status, got.Body)
			}
		}
		for _, tok := range []string{w.adminA, w.instTok} {
			a.must(req{method: "GET", path: "/api/v1/scheduler/jobs", token: tok}, 403)
		}
		a.must(req{method: "GET", path: "/api/v1/scheduler/jobs", token: regMember}, 200)
		if got := a.must(req{method: "POST", path: "/api/v1/scheduler/jobs/nope/run", token: w.reg}, 404); got.code(t) != "not_found" {
			t.Errorf("unknown job: %s", got.Body)
		}
		a.must(req{method: "POST", path: "/api/v1/scheduler/jobs/plan/run", token: ""}, 401)
	})
}

// TestTasksAPI: tasks are readable by the venue's operator, the assigned
// institute and the regulator, filterable, and validated.
func TestTasksAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		task := a.must(req{method: "GET", path: "/api/v1/tasks/" + w.taskA, token: w.instTok}, 200).json(t)
		// The world ran plan and visits: thermA's task is scheduled in visitA.
		if task["thermometer_id"] != w.thermA || task["state"] != "scheduled" || task["kind"] != "on_site_calibration" ||
			task["institute_id"] != w.inst || task["venue_id"] != w.venueA || task["visit_id"] != w.visitA {
			t.Errorf("task = %v", task)
		}
		a.must(req{method: "GET", path: "/api/v1/tasks/" + w.taskA, token: w.reg}, 200)
		a.must(req{method: "GET", path: "/api/v1/tasks/" + w.taskA, token: w.memberA}, 200)
		a.must(req{method: "GET", path: "/api/v1/tasks/" + w.taskA, token: w.inst2Tok}, 404)
		a.must(req{method: "GET", path: "/api/v1/tasks/" + w.taskA, token: w.firmTok}, 404)
		a.must(req{method: "GET", path: "/api/v1/tasks/not-a-uuid", token: w.reg}, 404)

		// The institute sees the tasks of thermA and thermB (both assigned to it).
		if ids := a.must(req{method: "GET", path: "/api/v1/tasks", token: w.instTok}, 200).ids(t); len(ids) != 2 {
			t.Errorf("institute sees %d tasks, want 2", len(ids))
		}
		// The unassigned thermometer's task stays open: no institute to visit.
		if ids := a.must(req{method: "GET", path: "/api/v1/tasks?state=open&kind=on_site_calibration&venue_id=" + w.venueA, token: w.reg}, 200).ids(t); len(ids) != 1 {
			t.Errorf("regulator sees %d open tasks in venue A, want 1", len(ids))
		}
		if ids := a.must(req{method: "GET", path: "/api/v1/tasks?state=scheduled", token: w.reg}, 200).ids(t); len(ids) != 2 {
			t.Errorf("regulator sees %d scheduled tasks, want 2 (thermA and thermB)", len(ids))
		}
		r := a.must(req{method: "GET", path: "/api/v1/tasks?state=done&venue_id=x&colour=red", token: w.reg}, 422)
		if f := r.fields(t); len(f) != 3 {
			t.Errorf("bad filters reported %v, want state, venue_id and colour", f)
		}
	})
}
