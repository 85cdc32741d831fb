package httpapi_test

import (
	"strings"
	"testing"
	"time"
)

// TestSchedulerAPI: the regulator lists the jobs and runs one now through
// the scheduler; the run reports what it did, a second run creates
// nothing; other organizations and regulator members get 403, an unknown
// job 404.
func TestSchedulerAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a) // runs plan once
		jobs := a.must(req{method: "GET", path: "/api/v1/scheduler/jobs", token: w.reg}, 200).json(t)["items"].([]any)
		var plan map[string]any
		names := []string{}
		for _, j := range jobs {
			names = append(names, j.(map[string]any)["name"].(string))
			if j.(map[string]any)["name"] == "plan" {
				plan = j.(map[string]any)
			}
		}
		if strings.Join(names, ",") != "lifts,overdue,plan,visits" || plan == nil {
			t.Fatalf("jobs = %v; want lifts, overdue, plan and visits listed by name", names)
		}
		last, _ := plan["last_run"].(map[string]any)
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

// TestEventsAPI: the overdue job's events reach the venue's operator and
// the regulator, not other tenants; the task is marked overdue; filters
// are validated.
func TestEventsAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a) // thermAUnassigned is two days overdue
		ev := a.must(req{method: "GET", path: "/api/v1/events/" + w.eventA, token: w.memberA}, 200).json(t)
		if ev["kind"] != "device_overdue" || ev["resource_id"] != w.thermAUnassigned || ev["venue_id"] != w.venueA ||
			ev["severity"] != "warning" || !strings.Contains(ev["message"].(string), "A-2") {
			t.Errorf("event = %v", ev)
		}
		kinds := map[string]int{}
		for _, id := range a.must(req{method: "GET", path: "/api/v1/events?venue_id=" + w.venueA, token: w.adminA}, 200).ids(t) {
			kinds[a.must(req{method: "GET", path: "/api/v1/events/" + id, token: w.reg}, 200).str(t, "kind")]++
		}
		if kinds["device_overdue"] != 1 || kinds["task_overdue"] != 1 {
			t.Errorf("events in venue A by kind = %v; want one device_overdue and one task_overdue", kinds)
		}
		tasks := a.must(req{method: "GET", path: "/api/v1/tasks?thermometer_id=" + w.thermAUnassigned, token: w.adminA}, 200).json(t)
		if task := tasks["items"].([]any)[0].(map[string]any); task["overdue_since"] == nil {
			t.Errorf("the overdue device's task has no overdue_since: %v", task)
		}
		// Not assigned to an institute: no institute sees it; B sees nothing.
		for _, tok := range []string{w.instTok, w.adminB, w.firmTok} {
			if ids := a.must(req{method: "GET", path: "/api/v1/events", token: tok}, 200).ids(t); len(ids) != 0 {
				t.Errorf("a stranger to venue A sees %d events", len(ids))
			}
		}
		if ids := a.must(req{method: "GET", path: "/api/v1/events?kind=device_overdue&since=2000-01-01", token: w.reg}, 200).ids(t); len(ids) != 1 {
			t.Errorf("regulator sees %d device_overdue events, want 1", len(ids))
		}
		// A second run raises nothing new.
		r := a.must(req{method: "POST", path: "/api/v1/scheduler/jobs/overdue/run", token: w.reg}, 200).json(t)
		if r["items"] != float64(0) {
			t.Errorf("second overdue run = %v; want 0 items", r)
		}
		bad := a.must(req{method: "GET", path: "/api/v1/events?kind=late&venue_id=1&since=soon", token: w.reg}, 422)
		if f := bad.fields(t); len(f) != 3 {
			t.Errorf("bad event filters reported %v", f)
		}
	})
}

// TestRequestsAPI: the request workflow through HTTP, with its refusals.
func TestRequestsAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		bad := a.must(req{method: "POST", path: "/api/v1/requests", token: w.adminA, body: map[string]any{"venue_id": w.venueA,
			"thermometer_ids": []string{w.thermAUnassigned}, "reason": "x", "window_from": "2026-12-05", "window_to": "2026-12-01"}}, 422)
		if f := strings.Join(bad.fields(t), ","); !strings.Contains(f, "window_to") {
			t.Errorf("bad request fields %s", f)
		}
		bad = a.must(req{method: "POST", path: "/api/v1/requests", token: w.adminA, body: map[string]any{"venue_id": w.venueA,
			"thermometer_ids": []string{w.thermAUnassigned}, "reason": "x", "window_from": "2026-12-01", "window_to": "2026-12-05"}}, 422)
		if f := bad.fields(t); len(f) != 1 || f[0] != "thermometer_ids[0]" {
			t.Errorf("unassigned thermometer reported as %v", f)
		}
		id := a.request(w)
		base := "/api/v1/requests/" + id
		a.must(req{method: "POST", path: base + "/accept-proposal", token: w.adminA}, 409)
		a.must(req{method: "POST", path: base + "/propose", token: w.adminA, body: map[string]any{"proposed_from": "2026-12-14", "proposed_to": "2026-12-18"}}, 403)
		p := a.must(req{method: "POST", path: base + "/propose", token: w.instTok, header: map[string]string{"If-Match": `"1"`},
			body: map[string]any{"proposed_from": "2026-12-14", "proposed_to": "2026-12-18", "note": "we are nearby that week"}}, 200).json(t)
		if p["state"] != "proposed" || p["proposed_to"] != "2026-12-18" {
			t.Errorf("proposal = %v", p)
		}
		r := a.must(req{method: "POST", path: base + "/accept-proposal", token: w.memberA}, 200).json(t)
		// thermA already had its plan task, so acceptance adds none.
		if r["state"] != "accepted" || len(r["task_ids"].([]any)) != 0 {
			t.Errorf("accepted = %v", r)
		}
		a.must(req{method: "POST", path: base + "/withdraw", token: w.adminA}, 409)
		a.must(req{method: "POST", path: base + "/decline", token: w.instTok, body: map[string]any{"note": " "}}, 409)
		listed := a.must(req{method: "GET", path: "/api/v1/requests?state=accepted", token: w.instTok}, 200).ids(t)
		if len(listed) != 1 || listed[0] != id {
			t.Errorf("institute's accepted requests = %v", listed)
		}
	})
}

// TestCalendarFeeds: an operator subscribes to its venue's visits and an
// institute to its own; the secret URL serves RFC 5545 without a token;
// a moved visit keeps its UID with a higher SEQUENCE; a revoked feed or
// a guessed secret is a 404; strangers cannot subscribe.
func TestCalendarFeeds(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		_, venueURL := a.feed(w)
		if !strings.HasPrefix(venueURL, "/feeds/cdf_") || !strings.HasSuffix(venueURL, ".ics") {
			t.Fatalf("feed url %q", venueURL)
		}
		cal := a.do(req{method: "GET", path: venueURL})
		body := string(cal.Body)
		if cal.Status != 200 || !strings.HasPrefix(cal.Header.Get("Content-Type"), "text/calendar") ||
			!strings.Contains(body, "BEGIN:VCALENDAR\r\n") || !strings.Contains(body, "UID:"+w.visitA+"@calibd\r\n") ||
			!strings.Contains(body, "STATUS:TENTATIVE") || !strings.Contains(body, "SEQUENCE:1") {
			t.Fatalf("venue feed = %d %q:\n%s", cal.Status, cal.Header.Get("Content-Type"), body)
		}
		// The institute confirms the visit: same UID, higher sequence.
		a.must(req{method: "POST", path: "/api/v1/visits/" + w.visitA + "/confirm", token: w.instTok}, 200)
		body = string(a.must(req{method: "GET", path: venueURL}, 200).Body)
		if !strings.Contains(body, "UID:"+w.visitA+"@calibd") || !strings.Contains(body, "SEQUENCE:2") || !strings.Contains(body, "STATUS:CONFIRMED") {
			t.Errorf("feed after confirming:\n%s", body)
		}

		inst := a.must(req{method: "POST", path: "/api/v1/feeds", token: w.instTok, body: map[string]any{"kind": "institute",
			"subject_id": w.inst, "name": "lab visits"}}, 201)
		if b := string(a.must(req{method: "GET", path: inst.str(t, "url")}, 200).Body); !strings.Contains(b, w.visitA) {
			t.Errorf("institute feed lacks its visit:\n%s", b)
		}
		// Nobody subscribes to what is not theirs.
		a.must(req{method: "POST", path: "/api/v1/feeds", token: w.inst2Tok, body: map[string]any{"kind": "institute", "subject_id": w.inst, "name": "x"}}, 404)
		a.must(req{method: "POST", path: "/api/v1/feeds", token: w.instTok, body: map[string]any{"kind": "venue", "subject_id": w.venueA, "name": "x"}}, 403)
		bad := a.must(req{method: "POST", path: "/api/v1/feeds", token: w.adminA, body: map[string]any{"kind": "weekly", "subject_id": "x", "name": ""}}, 422)
		if f := bad.fields(t); len(f) != 3 {
			t.Errorf("bad feed fields %v", f)
		}
		if ids := a.must(req{method: "GET", path: "/api/v1/feeds", token: w.instTok}, 200).ids(t); len(ids) != 1 || ids[0] != inst.str(t, "id") {
			t.Errorf("institute lists feeds %v", ids)
		}
		a.must(req{method: "POST", path: "/api/v1/feeds/" + inst.str(t, "id") + "/revoke", token: w.instTok}, 200)
		a.must(req{method: "GET", path: inst.str(t, "url")}, 404)
		a.must(req{method: "GET", path: "/feeds/cdf_guessed.ics"}, 404)
		a.must(req{method: "GET", path: "/feeds/nothing"}, 404)
	})
}

// TestResultsAPI: the institute records a passing calibration through
// HTTP; the device's next due date moves, the certificate is served as
// JSON and as a byte-identical PDF; refusals name the field; a correction
// is a new revision; flagging the standard flags the result.
func TestResultsAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		before := a.must(req{method: "GET", path: "/api/v1/thermometers/" + w.thermA, token: w.adminA}, 200).json(t)
		std, id := a.result(w)
		r := a.must(req{method: "GET", path: "/api/v1/results/" + id, token: w.adminA}, 200).json(t)
		if r["verdict"] != "pass" || r["thermometer_id"] != w.thermA || r["revision"] != float64(1) ||
			!strings.HasPrefix(r["certificate_no"].(string), "CAL-") || r["device_status"] != "in_service" {
			t.Errorf("result = %v", r)
		}
		after := a.must(req{method: "GET", path: "/api/v1/thermometers/" + w.thermA, token: w.adminA}, 200).json(t)
		if after["next_due_at"] == before["next_due_at"] || after["last_calibrated_at"] == nil || after["due_state"] != "ok" {
			t.Errorf("thermometer after a pass: due %v (was %v), state %v", after["next_due_at"], before["next_due_at"], after["due_state"])
		}
		task := a.must(req{method: "GET", path: "/api/v1/tasks/" + w.taskA, token: w.instTok}, 200).json(t)
		if task["state"] != "completed" {
			t.Errorf("task after its result: %v", task["state"])
		}
		cert := a.must(req{method: "GET", path: "/api/v1/results/" + id + "/certificate", token: w.adminA}, 200).json(t)
		if cert["number"] != r["certificate_no"] || cert["laboratory"].(map[string]any)["name"] != "Institute" ||
			cert["customer"].(map[string]any)["name"] != "Operator A" || len(cert["results"].([]any)) != 3 {
			t.Errorf("certificate = %v", cert)
		}
		pdf1 := a.must(req{method: "GET", path: "/api/v1/results/" + id + "/certificate.pdf", token: w.instTok}, 200)
		pdf2 := a.must(req{method: "GET", path: "/api/v1/results/" + id + "/certificate.pdf", token: w.reg}, 200)
		if !strings.HasPrefix(string(pdf1.Body), "%PDF") || string(pdf1.Body) != string(pdf2.Body) || pdf1.Header.Get("Content-Type") != "application/pdf" {
			t.Errorf("certificate PDF: %q, %d bytes, identical %v", pdf1.Header.Get("Content-Type"), len(pdf1.Body), string(pdf1.Body) == string(pdf2.Body))
		}

		// Refusals: a second result for the completed task; bad data named.
		body := calData()
		body["task_id"], body["standard_id"], body["performed_at"] = w.taskA, std, time.Now().UTC().Format(time.RFC3339)
		a.must(req{method: "POST", path: "/api/v1/results", token: w.instTok, body: body}, 409)
		bad := calData()
		bad["points"] = []any{map[string]any{"reference_c": 37.0, "as_found_c": []float64{37.1}, "u_c": 0}}
		// thermB's task is scheduled (its visit planned): it can take a result.
		taskB := a.must(req{method: "GET", path: "/api/v1/tasks?thermometer_id=" + w.thermB, token: w.instTok}, 200).ids(t)[0]
		bad["task_id"], bad["standard_id"], bad["performed_at"] = taskB, std, time.Now().UTC().Add(time.Second).Format(time.RFC3339)
		if f := strings.Join(a.must(req{method: "POST", path: "/api/v1/results", token: w.instTok, body: bad}, 422).fields(t), ","); !strings.Contains(","+f+",", ",points[0].u_c,") {
			t.Errorf("bad result fields %s", f)
		}
		a.must(req{method: "POST", path: "/api/v1/standards", token: w.adminA, body: map[string]any{"name": "x", "serial": "y",
			"certificate_no": "z", "calibrated_at": "2026-01-01T00:00:00Z", "due_at": "2027-01-01T00:00:00Z"}}, 403)

		// A correction.
		rev := calData()
		rev["standard_id"], rev["performed_at"], rev["correction_reason"] = std, r["performed_at"], "ambient RH was mistyped"
		rev["ambient"] = map[string]any{"temp_c": 23.0, "rh_percent": 45.0}
		r2 := a.must(req{method: "POST", path: "/api/v1/results/" + id + "/revisions", token: w.instTok, body: rev}, 201).json(t)
		if r2["revision"] != float64(2) || r2["replaces_id"] != id || !strings.HasSuffix(r2["certificate_no"].(string), "-R2") {
			t.Errorf("revision = %v", r2)
		}
		a.must(req{method: "POST", path: "/api/v1/results/" + id + "/revisions", token: w.instTok, body: rev}, 409)

		// Reverse traceability.
		tr := a.must(req{method: "POST", path: "/api/v1/standards/" + std + "/flag-out-of-tolerance", token: w.instTok,
			body: map[string]any{"reason": "drift found by NIM"}}, 200).json(t)
		if tr["standard"].(map[string]any)["status"] != "out_of_tolerance" || len(tr["flagged"].([]any)) != 2 {
			t.Errorf("trace report = %v", tr)
		}
		if ids := a.must(req{method: "GET", path: "/api/v1/results?flagged=true", token: w.adminA}, 200).ids(t); len(ids) != 2 {
			t.Errorf("flagged results seen by the operator: %v", ids)
		}
	})
}

// TestCancelTask: the assigned institute ends a task with a reason; the
// operator, the regulator and another institute cannot; a task in a
// planned visit leaves it; a started visit whose last task is cancelled
// can be completed.
func TestCancelTask(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		path := "/api/v1/tasks/" + w.taskA + "/cancel"
		body := map[string]any{"reason": "device not on site"}
		a.must(req{method: "POST", path: path, token: w.adminA, body: body}, 403)
		a.must(req{method: "POST", path: path, token: w.reg, body: body}, 403)
		a.must(req{method: "POST", path: path, token: w.inst2Tok, body: body}, 404)
		if f := a.must(req{method: "POST", path: path, token: w.instTok, body: map[string]any{"reason": " "}}, 422).fields(t); strings.Join(f, ",") != "reason" {
			t.Errorf("cancel without a reason: errors %v", f)
		}
		a.must(req{method: "POST", path: path, token: w.instTok, body: body, header: map[string]string{"If-Match": `"9"`}}, 412)
		got := a.must(req{method: "POST", path: path, token: w.instTok, body: body}, 200).json(t)
		if got["state"] != "cancelled" || got["cancel_reason"] != "device not on site" || got["visit_id"] != nil {
			t.Errorf("cancelled task: %v", got)
		}
		a.must(req{method: "POST", path: path, token: w.instTok, body: body}, 409)
		if n := len(a.must(req{method: "GET", path: "/api/v1/audit?resource=calibration_task&resource_id=" + w.taskA, token: w.reg}, 200).ids(t)); n != 1 {
			t.Errorf("audit events of the cancellation: %d, want 1", n)
		}

		// venueB's visit, started: its one task is cancelled, and the visit
		// completes with the task on record.
		visitB := a.must(req{method: "GET", path: "/api/v1/visits?venue_id=" + w.venueB, token: w.instTok}, 200).ids(t)[0]
		a.must(req{method: "POST", path: "/api/v1/visits/" + visitB + "/confirm", token: w.instTok}, 200)
		a.must(req{method: "POST", path: "/api/v1/visits/" + visitB + "/start", token: w.instTok}, 200)
		a.must(req{method: "POST", path: "/api/v1/visits/" + visitB + "/complete", token: w.instTok}, 409)
		taskB := a.must(req{method: "GET", path: "/api/v1/tasks?thermometer_id=" + w.thermB, token: w.instTok}, 200).ids(t)[0]
		tb := a.must(req{method: "POST", path: "/api/v1/tasks/" + taskB + "/cancel", token: w.instTok,
			body: map[string]any{"reason": "thermometer sent for repair", "version": 3}}, 200).json(t)
		if tb["visit_id"] != visitB {
			t.Errorf("a task cancelled in a started visit left it: %v", tb["visit_id"])
		}
		if v := a.must(req{method: "POST", path: "/api/v1/visits/" + visitB + "/complete", token: w.instTok}, 200).json(t); v["state"] != "completed" {
			t.Errorf("visit after its last task was cancelled: %v", v["state"])
		}
	})
}
