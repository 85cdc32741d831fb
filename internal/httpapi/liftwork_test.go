package httpapi_test

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLiftWorkAPI is the "Done when" flow: the operator contracts
// a firm, the firm proposes a 30-day cycle with weekly remote checks, the
// venue accepts; the lifts job asks for the first visit, then for a remote
// inspection a week after it; a remote report with one failed item opens
// an urgent on-site task, raises lift_check_failed and suspends the
// agreement; an all-ok on-site report reinstates it. Bad reports are
// refused naming the field or the reason; the operator countersigns once.
func TestLiftWorkAPI(t *testing.T) {
	eachAPI(t, func(t *testing.T, a *api) {
		w := newWorld(t, a)
		sh, _ := time.LoadLocation("Asia/Shanghai")
		now := time.Now()
		stamp := now.Add(-time.Minute).UTC().Format(time.RFC3339)
		remote := func(failed ...string) map[string]any {
			return map[string]any{"kind": "remote", "elevator_id": w.elevA, "performed_at": stamp, "technician": "Wang Wei",
				"venue_person": "Li Na", "notes": "video call with the duty manager", "items": halfMonthlyItems(true, failed...),
				"evidence": []any{map[string]any{"url": "https://video.example.org/check.mp4",
					"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "duration_s": 540, "captured_at": stamp}}}
		}
		onsite := map[string]any{"kind": "onsite", "elevator_id": w.elevA, "category": "half_monthly", "performed_at": stamp,
			"technician": "Wang Wei", "items": halfMonthlyItems(false)}

		if f := a.must(req{method: "POST", path: "/api/v1/lift-reports", token: w.firmTok, body: remote()}, 422).fields(t); !slices.Contains(f, "elevator_id") {
			t.Errorf("a lift not under contract: %v", f)
		}
		contract, agreement := a.contract(w)
		a.must(req{method: "POST", path: "/api/v1/agreements/" + agreement + "/accept", token: w.adminA}, 200)
		a.must(req{method: "POST", path: "/api/v1/scheduler/jobs/lifts/run", token: w.reg}, 200)
		first := a.must(req{method: "GET", path: "/api/v1/lift-tasks?elevator_id=" + w.elevA + "&state=open", token: w.firmTok}, 200).json(t)["items"].([]any)
		if len(first) != 1 || first[0].(map[string]any)["kind"] != "onsite" || first[0].(map[string]any)["due_on"] != now.In(sh).Format(time.DateOnly) {
			t.Fatalf("tasks after the first run: %v", first)
		}

		// Bad reports, each naming its field or reason, none written.
		a.must(req{method: "POST", path: "/api/v1/lift-reports", token: w.adminA, body: onsite}, 403)
		bad := remote()
		bad["items"] = append(bad["items"].([]any)[1:], map[string]any{"code": "Q01", "result": "ok"})
		if f := a.must(req{method: "POST", path: "/api/v1/lift-reports", token: w.firmTok, body: bad}, 422).fields(t); !slices.Contains(f, "items[30].code") {
			t.Errorf("an item outside the category: %v", f)
		}
		bad = remote()
		delete(bad["evidence"].([]any)[0].(map[string]any), "sha256")
		if f := a.must(req{method: "POST", path: "/api/v1/lift-reports", token: w.firmTok, body: bad}, 422).fields(t); !slices.Contains(f, "evidence[0].sha256") {
			t.Errorf("evidence without a hash: %v", f)
		}
		if ids := a.must(req{method: "GET", path: "/api/v1/lift-reports", token: w.reg}, 200).ids(t); len(ids) != 0 {
			t.Errorf("reports after refusals: %v", ids)
		}

		// The first visit, then weekly remote checks.
		visit := a.must(req{method: "POST", path: "/api/v1/lift-reports", token: w.firmTok, body: onsite}, 201).json(t)
		if visit["task_id"] != first[0].(map[string]any)["id"] {
			t.Errorf("the visit completes the first task: %v", visit["task_id"])
		}
		a.must(req{method: "POST", path: "/api/v1/scheduler/jobs/lifts/run", token: w.reg}, 200)
		tasks := a.must(req{method: "GET", path: "/api/v1/lift-tasks?kind=remote&state=open", token: w.adminA}, 200).json(t)["items"].([]any)
		if len(tasks) != 1 || tasks[0].(map[string]any)["due_on"] != now.In(sh).AddDate(0, 0, 7).Format(time.DateOnly) {
			t.Fatalf("remote-inspection tasks: %v", tasks)
		}
		remoteTask := tasks[0].(map[string]any)["id"].(string)

		body := remote("HM18")
		body["task_id"] = remoteTask
		rep := a.must(req{method: "POST", path: "/api/v1/lift-reports", token: w.firmTok, body: body}, 201).json(t)
		if rep["agreement_state"] != "suspended" || rep["urgent_task_id"] == nil || len(rep["carried_over"].([]any)) == 0 {
			t.Errorf("remote report effects: %v", rep)
		}
		urgent := a.must(req{method: "GET", path: "/api/v1/lift-tasks/" + rep["urgent_task_id"].(string), token: w.adminA}, 200).json(t)
		if urgent["kind"] != "urgent_onsite" || urgent["due_on"] != now.Add(24*time.Hour).In(sh).Format(time.DateOnly) ||
			!slices.Equal(urgent["carried_items"].([]any), []any{"HM18"}) {
			t.Errorf("urgent task: %v", urgent)
		}
		if got := a.must(req{method: "GET", path: "/api/v1/lift-tasks/" + remoteTask, token: w.firmTok}, 200).json(t); got["state"] != "completed" {
			t.Errorf("remote task after the report: %v", got["state"])
		}
		ev := a.must(req{method: "GET", path: "/api/v1/events?kind=lift_check_failed", token: w.adminA}, 200).json(t)["items"].([]any)
		if len(ev) != 1 || ev[0].(map[string]any)["severity"] != "critical" || !strings.Contains(ev[0].(map[string]any)["message"].(string), "HM18") {
			t.Errorf("lift_check_failed events: %v", ev)
		}
		if ag := a.must(req{method: "GET", path: "/api/v1/agreements/" + agreement, token: w.adminA}, 200).json(t); ag["state"] != "suspended" {
			t.Errorf("agreement after the failed check: %v", ag["state"])
		}
		if c := a.must(req{method: "GET", path: "/api/v1/contracts/" + contract, token: w.adminA}, 200).json(t); c["cycle_today"].(map[string]any)["onsite_cycle_days"] != float64(15) {
			t.Errorf("cycle while suspended: %v", c["cycle_today"])
		}

		// The operator countersigns once; the firm may not.
		path := "/api/v1/lift-reports/" + rep["id"].(string) + "/countersign"
		a.must(req{method: "POST", path: path, token: w.firmTok}, 403)
		signed := a.must(req{method: "POST", path: path, token: w.adminA, body: map[string]any{"note": "watched the video"}}, 200).json(t)
		if signed["countersigned_at"] == nil || signed["countersign_note"] != "watched the video" {
			t.Errorf("countersigned: %v", signed)
		}
		if code := a.must(req{method: "POST", path: path, token: w.adminA}, 409).code(t); code != "invalid_transition" {
			t.Errorf("second countersignature: %s", code)
		}

		// An on-site visit with every item ok clears the lift.
		cleared := a.must(req{method: "POST", path: "/api/v1/lift-reports", token: w.firmTok, body: onsite}, 201).json(t)
		if cleared["agreement_state"] != "accepted" {
			t.Errorf("on-site report all ok: agreement %v", cleared["agreement_state"])
		}
		if got := a.must(req{method: "GET", path: "/api/v1/lift-tasks/" + urgent["id"].(string), token: w.firmTok}, 200).json(t); got["state"] != "completed" {
			t.Errorf("urgent task after the visit: %v", got["state"])
		}
		if ids := a.must(req{method: "GET", path: "/api/v1/lift-reports?elevator_id=" + w.elevA, token: w.reg}, 200).ids(t); len(ids) != 3 {
			t.Errorf("reports the regulator sees: %d", len(ids))
		}
	})
}
