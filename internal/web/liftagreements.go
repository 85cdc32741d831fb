package web

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/calibd/calibd/devices"
)

// Extended-cycle agreements: the firm proposes, the venue operator
// answers (issue 6, lift pages).

// agreementView is an extended-cycle agreement with its lift's name and
// whether the actor answers it.
type agreementView struct {
	devices.CycleAgreement
	Lift      string
	Venue     string
	CanAnswer bool
}

func (l *lookups) agreementViews(ags []devices.CycleAgreement) ([]agreementView, error) {
	slices.SortStableFunc(ags, func(x, y devices.CycleAgreement) int { return y.CreatedAt.Compare(x.CreatedAt) })
	out := make([]agreementView, 0, len(ags))
	for _, ag := range ags {
		e, err := l.lift(ag.ElevatorID)
		if err != nil {
			return nil, err
		}
		v, err := l.venue(ag.VenueID)
		if err != nil {
			return nil, err
		}
		out = append(out, agreementView{CycleAgreement: ag, Lift: cmp.Or(e.RegistrationCode, "(a lift you no longer see)"), Venue: v.Name,
			CanAnswer: ag.State == devices.AgreementProposed && l.a.CanWriteRegistry() && l.a.OrgID == ag.OperatorOrgID})
	}
	return out, nil
}

// contractOption is a contract the firm may propose an agreement under.
type contractOption struct {
	ID, Label string
}

type agreementsData struct {
	Awaiting   []agreementView // proposed, waiting for the operator's answer
	Others     []agreementView // every other state, newest first
	IsFirm     bool
	IsOperator bool
	Detail     bool
	Partial    bool
	Contracts  []contractOption
	Form       map[string]string
	Open       bool // the proposal form, after an error in it
}

func (s *Server) agreements(w http.ResponseWriter, r *http.Request) {
	s.agreementsPage(w, r, http.StatusOK, "", nil, nil, "")
}

func (s *Server) agreement(w http.ResponseWriter, r *http.Request) {
	s.agreementsPage(w, r, http.StatusOK, r.PathValue("id"), nil, nil, "")
}

// agreementsPage renders the list, or one agreement when id is set, with
// a form's values, its errors by input id and a message for the page.
func (s *Server) agreementsPage(w http.ResponseWriter, r *http.Request, status int, id string, form, errs map[string]string, problem string) {
	a, ctx := actorOf(r), r.Context()
	l := s.lookups(r)
	var list []devices.CycleAgreement
	d := agreementsData{IsFirm: a.OrgKind == devices.KindMaintenanceFirm, IsOperator: a.OrgKind == devices.KindVenueOperator, Detail: id != "",
		Form: form, Open: form != nil}
	title := "Extended-cycle agreements"
	if id != "" {
		ag, err := s.st.GetAgreement(ctx, a, id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		list = []devices.CycleAgreement{ag}
	} else {
		if err := l.preload(); err != nil {
			s.fail(w, r, err)
			return
		}
		var err error
		list, d.Partial, err = collect(listCap, func(p devices.Page) ([]devices.CycleAgreement, string, error) {
			return s.st.ListAgreements(ctx, a, devices.AgreementFilter{}, p)
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	views, err := l.agreementViews(list)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, v := range views {
		if v.State == devices.AgreementProposed {
			d.Awaiting = append(d.Awaiting, v)
		} else {
			d.Others = append(d.Others, v)
		}
	}
	if id != "" {
		title = "Agreement for lift " + views[0].Lift
	}
	if d.IsFirm && id == "" {
		if d.Contracts, err = s.contractOptions(l); err != nil {
			s.fail(w, r, err)
			return
		}
		if d.Form == nil {
			now := time.Now().UTC()
			d.Form = map[string]string{"onsite_cycle_days": "30", "remote_interval_days": "7", "valid_from": now.Format(devices.DateLayout),
				"valid_to": now.AddDate(0, 0, 90).Format(devices.DateLayout)}
		}
	}
	s.render(w, r, status, "agreements", page{Title: title, Errors: errs, Problem: problem, Data: d})
}

// contractOptions lists the firm's contracts that have not ended.
func (s *Server) contractOptions(l *lookups) ([]contractOption, error) {
	cs, _, err := collect(listCap, func(p devices.Page) ([]devices.MaintenanceContract, string, error) {
		return s.st.ListContracts(l.ctx, l.a, devices.ContractFilter{FirmID: l.a.OrgID}, p)
	})
	if err != nil {
		return nil, err
	}
	var out []contractOption
	for _, c := range cs {
		v, err := l.venue(c.VenueID)
		if err != nil {
			return nil, err
		}
		if c.EndsOn != "" && c.EndsOn < l.today(v) {
			continue
		}
		e, err := l.lift(c.ElevatorID)
		if err != nil {
			return nil, err
		}
		span := "from " + c.StartsOn
		if c.EndsOn != "" {
			span += " to " + c.EndsOn
		}
		out = append(out, contractOption{ID: c.ID, Label: fmt.Sprintf("%s · %s · contract %s, %d-day cycle",
			cmp.Or(e.RegistrationCode, c.ElevatorID), cmp.Or(v.Name, "venue"), span, c.OnSiteCycleDays)})
	}
	slices.SortFunc(out, func(x, y contractOption) int { return cmp.Compare(x.Label, y.Label) })
	return out, nil
}

// proposeAgreement: the contracted firm proposes an extended on-site cycle
// with remote inspections in between (POST /api/v1/agreements).
func (s *Server) proposeAgreement(w http.ResponseWriter, r *http.Request) {
	f := formOf(r, "contract_id", "onsite_cycle_days", "remote_interval_days", "valid_from", "valid_to", "reason")
	errs := map[string]string{}
	onsite := wholeNumber(f, "onsite_cycle_days", errs)
	remote := wholeNumber(f, "remote_interval_days", errs)
	if f["contract_id"] == "" {
		errs["contract_id"] = "Choose the lift and the contract the agreement extends."
	}
	if len(errs) > 0 {
		s.agreementsPage(w, r, http.StatusUnprocessableEntity, "", f, errs, "")
		return
	}
	ag := devices.CycleAgreement{ContractID: f["contract_id"], OnSiteCycleDays: onsite, RemoteIntervalDays: remote,
		ValidFrom: f["valid_from"], ValidTo: f["valid_to"], Reason: f["reason"]}
	err := s.st.ProposeAgreement(r.Context(), actorOf(r), &ag)
	if fe, ok := fieldErrors(err); ok {
		s.agreementsPage(w, r, http.StatusUnprocessableEntity, "", f, fe, "")
		return
	}
	if status, msg, ok := refusal(err); ok {
		s.agreementsPage(w, r, status, "", f, nil, msg)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	e, err := s.lookups(r).lift(ag.ElevatorID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	redirectDone(w, r, "/agreements", fmt.Sprintf("Proposal sent for lift %s: on site every %d days with a remote inspection every %d days, "+
		"%s to %s. It takes effect once the venue operator accepts it.", e.RegistrationCode, ag.OnSiteCycleDays, ag.RemoteIntervalDays,
		ag.ValidFrom, ag.ValidTo))
}

// wholeNumber reads a form field holding a whole number, noting an error
// by the field when it does not.
func wholeNumber(f map[string]string, name string, errs map[string]string) int {
	n, err := strconv.Atoi(f[name])
	if err != nil {
		errs[name] = "Enter a whole number of days, such as 30."
	}
	return n
}

// refusal says how a form page shows a refusal that is not about a field:
// its status and a message a person can act on. Not found is not one:
// that answers 404 like any page of another tenant's.
func refusal(err error) (int, string, bool) {
	var fe *devices.ForbiddenError
	var ce *devices.ConflictError
	switch {
	case err == nil:
		return 0, "", false
	case errors.As(err, &fe):
		return http.StatusForbidden, "You may not do this: " + fe.Reason + ".", true
	case errors.Is(err, devices.ErrForbidden):
		return http.StatusForbidden, "You may not do this.", true
	case errors.Is(err, devices.ErrPreconditionFailed):
		return http.StatusConflict, "This changed since you loaded the page; here it is as it stands now. Check it and try again if it still applies.", true
	case errors.As(err, &ce):
		return http.StatusConflict, ce.Message + ".", true
	case errors.Is(err, devices.ErrConflict):
		return http.StatusConflict, err.Error(), true
	}
	return 0, "", false
}

// answerAgreement: the lift's venue operator accepts or rejects a proposal
// at the version its page showed (optimistic concurrency, as the API's
// If-Match); a rejection says why.
func (s *Server) answerAgreement(e devices.AgreementEvent) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		version, err := strconv.Atoi(r.PostFormValue("version"))
		if err != nil || version < 1 {
			s.fail(w, r, devices.Invalid("version", "the form did not say which version of the agreement it answers; reload the page and answer again"))
			return
		}
		ag, err := s.st.ActOnAgreement(r.Context(), actorOf(r), id, version, e, r.PostFormValue("reason"))
		if fe, ok := fieldErrors(err); ok {
			errs := map[string]string{}
			for f, msg := range fe {
				errs[f+"-"+id] = msg
			}
			s.agreementsPage(w, r, http.StatusUnprocessableEntity, id, nil, errs, "")
			return
		}
		if status, msg, ok := refusal(err); ok {
			s.agreementsPage(w, r, status, id, nil, nil, msg)
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		lift, err := s.lookups(r).lift(ag.ElevatorID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		msg := fmt.Sprintf("Agreement for lift %s accepted: from %s to %s the firm visits every %d days and inspects remotely every %d days.",
			lift.RegistrationCode, ag.ValidFrom, ag.ValidTo, ag.OnSiteCycleDays, ag.RemoteIntervalDays)
		if e == devices.AgreementReject {
			msg = fmt.Sprintf("Agreement for lift %s rejected; the contract's own cycle stays in force.", lift.RegistrationCode)
		}
		redirectDone(w, r, "/agreements", msg)
	}
}
