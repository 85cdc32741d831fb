package web

import (
	"net/http"

	"github.com/calibd/calibd/devices"
)

type homeData struct {
	Kind        devices.OrgKind
	OpenAlerts  int
	AlertsMore  bool
	Counts      map[string]int
	CountsOrder []string
}

// home: where each role starts: the devices it answers for, by status,
// and what needs attention.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	a, ctx := actorOf(r), r.Context()
	d := homeData{Kind: a.OrgKind, Counts: map[string]int{},
		CountsOrder: []string{statusOutOfTolerance, statusDrifting, statusSilent, statusOverdue, statusDueSoon, statusInService}}
	alerts, err := s.activeAlerts(ctx, a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, kinds := range alerts {
		d.OpenAlerts += len(kinds)
	}
	if a.OrgKind != devices.KindMaintenanceFirm {
		ths, next, err := s.st.ListThermometers(ctx, a, devices.ThermometerFilter{}, devices.Page{Limit: 500})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, t := range ths {
			for _, st := range statuses(t, alerts[t.ID]) {
				d.Counts[st]++
			}
		}
		d.AlertsMore = next != ""
	}
	s.render(w, r, http.StatusOK, "home", page{Title: "Overview", Data: d})
}
