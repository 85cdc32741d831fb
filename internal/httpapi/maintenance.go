package httpapi

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/calibd/calibd/devices"
)

type cycleJSON struct {
	OnSiteCycleDays    int     `json:"onsite_cycle_days"`
	RemoteIntervalDays int     `json:"remote_interval_days"`
	AgreementID        *string `json:"agreement_id"`
	AgreementUntil     *string `json:"agreement_until"`
}

type contractJSON struct {
	ID              string    `json:"id"`
	ElevatorID      string    `json:"elevator_id"`
	VenueID         string    `json:"venue_id"`
	OperatorOrgID   string    `json:"operator_org_id"`
	FirmID          string    `json:"firm_id"`
	StartsOn        string    `json:"starts_on"`
	EndsOn          *string   `json:"ends_on"`
	OnSiteCycleDays int       `json:"onsite_cycle_days"`
	EndedReason     string    `json:"ended_reason"`
	CycleToday      cycleJSON `json:"cycle_today"`
	Version         int       `json:"version"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func toContractJSON(c devices.MaintenanceContract) contractJSON {
	return contractJSON{ID: c.ID, ElevatorID: c.ElevatorID, VenueID: c.VenueID, OperatorOrgID: c.OperatorOrgID, FirmID: c.FirmOrgID,
		StartsOn: c.StartsOn, EndsOn: optional(c.EndsOn), OnSiteCycleDays: c.OnSiteCycleDays, EndedReason: c.EndedReason,
		CycleToday: cycleJSON{OnSiteCycleDays: c.Cycle.OnSiteDays, RemoteIntervalDays: c.Cycle.RemoteDays,
			AgreementID: optional(c.Cycle.AgreementID), AgreementUntil: optional(c.Cycle.AgreementUntil)},
		Version: c.Version, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

type agreementJSON struct {
	ID                 string    `json:"id"`
	ContractID         string    `json:"contract_id"`
	ElevatorID         string    `json:"elevator_id"`
	VenueID            string    `json:"venue_id"`
	OperatorOrgID      string    `json:"operator_org_id"`
	FirmID             string    `json:"firm_id"`
	OnSiteCycleDays    int       `json:"onsite_cycle_days"`
	RemoteIntervalDays int       `json:"remote_interval_days"`
	ValidFrom          string    `json:"valid_from"`
	ValidTo            string    `json:"valid_to"`
	Reason             string    `json:"reason"`
	State              string    `json:"state"`
	StateReason        string    `json:"state_reason"`
	Version            int       `json:"version"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

func toAgreementJSON(a devices.CycleAgreement) agreementJSON {
	return agreementJSON{ID: a.ID, ContractID: a.ContractID, ElevatorID: a.ElevatorID, VenueID: a.VenueID,
		OperatorOrgID: a.OperatorOrgID, FirmID: a.FirmOrgID, OnSiteCycleDays: a.OnSiteCycleDays,
		RemoteIntervalDays: a.RemoteIntervalDays, ValidFrom: a.ValidFrom, ValidTo: a.ValidTo, Reason: a.Reason,
		State: string(a.State), StateReason: a.StateReason, Version: a.Version, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

type checklistItemJSON struct {
	Code     string `json:"code"`
	Category string `json:"category"`
	Title    string `json:"title"`
	Remote   bool   `json:"remote"`
}

type checklistJSON struct {
	Source string              `json:"source"`
	Items  []checklistItemJSON `json:"items"`
}

// getChecklist lists the T5002 items a maintenance of a category covers
// (default annual: every item), or only the remotely checkable ones.
func (s *Server) getChecklist(c *gin.Context) {
	q := newQuery(c, "category", "remote")
	cat := devices.MaintenanceCategory(q.enum("category", func(v string) bool { return devices.MaintenanceCategory(v).Valid() },
		joinStrings(devices.MaintenanceCategories)))
	remote := q.bool("remote")
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	if cat == "" {
		cat = devices.CategoryAnnual
	}
	out := checklistJSON{Source: devices.ChecklistSource, Items: []checklistItemJSON{}}
	for _, it := range devices.ChecklistFor(cat, remote) {
		out.Items = append(out.Items, checklistItemJSON{Code: it.Code, Category: string(it.Category), Title: it.Title, Remote: it.Remote})
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) createContract(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	mc := devices.MaintenanceContract{ElevatorID: deref(o.str("elevator_id")), FirmOrgID: deref(o.str("firm_id")),
		StartsOn: deref(o.str("starts_on")), EndsOn: deref(o.str("ends_on")), OnSiteCycleDays: deref(o.int("onsite_cycle_days"))}
	if err := o.done(); err != nil {
		s.fail(c, err)
		return
	}
	err = s.reg.CreateContract(c.Request.Context(), actorOf(c), &mc)
	if rep, ok := replayOf(c, err); ok {
		mc, err = s.reg.GetContract(c.Request.Context(), actorOf(c), rep.ID)
	}
	if err == nil {
		c.Header("Location", "/api/v1/contracts/"+mc.ID)
	}
	one(s, c, http.StatusCreated, mc, err, toContractJSON, mc.Version)
}

func (s *Server) listContracts(c *gin.Context) {
	q := newQuery(c, "elevator_id", "venue_id", "firm_id")
	f := devices.ContractFilter{ElevatorID: q.id("elevator_id"), VenueID: q.id("venue_id"), FirmID: q.id("firm_id")}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListContracts(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toContractJSON))
}

func (s *Server) getContract(c *gin.Context) {
	mc, err := s.reg.GetContract(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, mc, err, toContractJSON, mc.Version)
}

// endContract: {"ends_on"? (default today), "reason", "version"?}.
func (s *Server) endContract(c *gin.Context) {
	version, f, err := s.actionBody(c, "ends_on", "reason")
	if err != nil {
		s.fail(c, err)
		return
	}
	mc, err := s.reg.EndContract(c.Request.Context(), actorOf(c), c.Param("id"), version, f["ends_on"], f["reason"])
	one(s, c, http.StatusOK, mc, err, toContractJSON, mc.Version)
}

func (s *Server) proposeAgreement(c *gin.Context) {
	o, err := s.readObject(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	ag := devices.CycleAgreement{ContractID: deref(o.str("contract_id")), OnSiteCycleDays: deref(o.int("onsite_cycle_days")),
		RemoteIntervalDays: deref(o.int("remote_interval_days")), ValidFrom: deref(o.str("valid_from")),
		ValidTo: deref(o.str("valid_to")), Reason: deref(o.str("reason"))}
	if err := o.done(); err != nil {
		s.fail(c, err)
		return
	}
	err = s.reg.ProposeAgreement(c.Request.Context(), actorOf(c), &ag)
	if rep, ok := replayOf(c, err); ok {
		ag, err = s.reg.GetAgreement(c.Request.Context(), actorOf(c), rep.ID)
	}
	if err == nil {
		c.Header("Location", "/api/v1/agreements/"+ag.ID)
	}
	one(s, c, http.StatusCreated, ag, err, toAgreementJSON, ag.Version)
}

func (s *Server) listAgreements(c *gin.Context) {
	q := newQuery(c, "elevator_id", "contract_id", "state")
	f := devices.AgreementFilter{ElevatorID: q.id("elevator_id"), ContractID: q.id("contract_id"),
		State: devices.AgreementState(q.enum("state", func(v string) bool { return devices.AgreementState(v).Valid() },
			joinStrings(devices.AgreementStates)))}
	p := q.page()
	if err := q.done(); err != nil {
		s.fail(c, err)
		return
	}
	items, next, err := s.reg.ListAgreements(c.Request.Context(), actorOf(c), f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, list(items, next, toAgreementJSON))
}

func (s *Server) getAgreement(c *gin.Context) {
	ag, err := s.reg.GetAgreement(c.Request.Context(), actorOf(c), c.Param("id"))
	one(s, c, http.StatusOK, ag, err, toAgreementJSON, ag.Version)
}

// actOnAgreement handles POST /agreements/{id}/{accept,reject,revoke}:
// {"reason" (reject and revoke), "version"?} or If-Match.
func (s *Server) actOnAgreement(e devices.AgreementEvent) gin.HandlerFunc {
	return func(c *gin.Context) {
		version, f, err := s.actionBody(c, "reason")
		if err != nil {
			s.fail(c, err)
			return
		}
		ag, err := s.reg.ActOnAgreement(c.Request.Context(), actorOf(c), c.Param("id"), version, e, f["reason"])
		one(s, c, http.StatusOK, ag, err, toAgreementJSON, ag.Version)
	}
}
