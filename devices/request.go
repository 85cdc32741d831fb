package devices

import (
	"context"
	"slices"
	"strings"
	"time"
)

// RequestState is where a venue operator's calibration request is:
// requested → accepted | proposed | declined | withdrawn, and proposed →
// accepted (the operator takes the proposed window) | withdrawn.
type RequestState string

// Request states.
const (
	RequestRequested RequestState = "requested"
	RequestProposed  RequestState = "proposed"
	RequestAccepted  RequestState = "accepted"
	RequestDeclined  RequestState = "declined"
	RequestWithdrawn RequestState = "withdrawn"
)

// RequestStates lists every state.
var RequestStates = []RequestState{RequestRequested, RequestProposed, RequestAccepted, RequestDeclined, RequestWithdrawn}

// Valid reports whether s is a known state.
func (s RequestState) Valid() bool { return slices.Contains(RequestStates, s) }

// RequestAction is a step on a request; the institute accepts, proposes
// or declines; the operator accepts a proposal or withdraws.
type RequestAction string

// Request actions.
const (
	RequestAccept         RequestAction = "accept"
	RequestPropose        RequestAction = "propose"
	RequestDecline        RequestAction = "decline"
	RequestAcceptProposal RequestAction = "accept_proposal"
	RequestWithdraw       RequestAction = "withdraw"
)

// ByInstitute reports whether the institute (rather than the operator)
// takes the action.
func (a RequestAction) ByInstitute() bool {
	return a == RequestAccept || a == RequestPropose || a == RequestDecline
}

// Next returns the state the action leads to from s, or a ConflictError
// "invalid_transition".
func (s RequestState) Next(a RequestAction) (RequestState, error) {
	switch {
	case a == RequestAccept && s == RequestRequested:
		return RequestAccepted, nil
	case a == RequestPropose && s == RequestRequested:
		return RequestProposed, nil
	case a == RequestDecline && (s == RequestRequested || s == RequestProposed):
		return RequestDeclined, nil
	case a == RequestAcceptProposal && s == RequestProposed:
		return RequestAccepted, nil
	case a == RequestWithdraw && (s == RequestRequested || s == RequestProposed):
		return RequestWithdrawn, nil
	}
	return "", Conflict("invalid_transition", "a %s request cannot take %s", s, a)
}

// MaxRequestThermometers bounds one request.
const MaxRequestThermometers = 500

// CalibrationRequest is a venue operator's request for calibration of
// some thermometers of one venue, within a preferred window of days.
type CalibrationRequest struct {
	ID             string
	OperatorOrgID  string
	VenueID        string
	InstituteID    string // the institute the thermometers are assigned to
	ThermometerIDs []string
	Reason         string
	WindowFrom     string // YYYY-MM-DD, venue's zone
	WindowTo       string
	State          RequestState
	ProposedFrom   string // set while proposed (and kept once accepted)
	ProposedTo     string
	Answer         string // the institute's note or reason
	TaskIDs        []string
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Validate checks what the operator sends: one to 500 distinct UUIDs, a
// reason and a window of real dates, from ≤ to, of at most a year.
func (r *CalibrationRequest) Validate() error {
	var p Problems
	r.Reason = strings.TrimSpace(r.Reason)
	checkText(&p, "reason", r.Reason, true, 1000)
	if !IsUUID(r.VenueID) {
		p.Add("venue_id", "must be a UUID")
	}
	switch n := len(r.ThermometerIDs); {
	case n == 0:
		p.Add("thermometer_ids", "name at least one thermometer")
	case n > MaxRequestThermometers:
		p.Addf("thermometer_ids", "at most %d thermometers per request", MaxRequestThermometers)
	}
	checkIDList(&p, "thermometer_ids", r.ThermometerIDs)
	checkWindow(&p, "window_from", "window_to", r.WindowFrom, r.WindowTo)
	return p.Err()
}

// checkWindow validates a window of days.
func checkWindow(p *Problems, fromField, toField, from, to string) {
	f, ferr := time.Parse(DateLayout, from)
	t, terr := time.Parse(DateLayout, to)
	if ferr != nil {
		p.Add(fromField, "must be a date such as 2026-12-01")
	}
	if terr != nil {
		p.Add(toField, "must be a date such as 2026-12-01")
	}
	if ferr == nil && terr == nil {
		switch {
		case t.Before(f):
			p.Add(toField, "must not be before "+fromField)
		case t.Sub(f) > 366*24*time.Hour:
			p.Add(toField, "a window may span at most a year")
		}
	}
}

// CheckProposal validates an institute's proposed window.
func CheckProposal(from, to string) error {
	var p Problems
	checkWindow(&p, "proposed_from", "proposed_to", from, to)
	return p.Err()
}

// RequestFilter narrows a request list.
type RequestFilter struct {
	VenueID     string
	InstituteID string
	State       RequestState
}

// RequestStore keeps calibration requests.
type RequestStore interface {
	CreateRequest(ctx context.Context, a Actor, r *CalibrationRequest) error
	ListRequests(ctx context.Context, a Actor, f RequestFilter, p Page) ([]CalibrationRequest, string, error)
	GetRequest(ctx context.Context, a Actor, id string) (CalibrationRequest, error)
	// ActOnRequest applies an action at the caller's version: propose
	// needs from and to, decline a note; accepting creates the tasks.
	ActOnRequest(ctx context.Context, a Actor, id string, version int, action RequestAction, note, from, to string) (CalibrationRequest, error)
}
