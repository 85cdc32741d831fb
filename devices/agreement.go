package devices

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Lift maintenance cycles (DOMAIN.md §4.1, §4.2).
const (
	// DefaultOnSiteCycleDays is the statutory on-site maintenance interval
	// (特种设备安全监察条例 Art. 31: at least every 15 days); a contract may
	// set a shorter one, never a longer one.
	DefaultOnSiteCycleDays = 15
	// DefaultMaxExtendedCycleDays bounds the on-site cycle an agreement
	// may stretch to (configurable per deployment).
	DefaultMaxExtendedCycleDays = 45
	// MaxAgreementDays bounds an agreement's validity window.
	MaxAgreementDays = 366
)

// MaintenanceContract links a lift, the firm that maintains it and the
// venue operator (the lift's user unit) for a span of days.
type MaintenanceContract struct {
	ID              string
	ElevatorID      string
	VenueID         string
	OperatorOrgID   string
	FirmOrgID       string
	StartsOn        string // YYYY-MM-DD
	EndsOn          string // inclusive; "" when open-ended
	OnSiteCycleDays int
	EndedReason     string
	// Cycle is the cycle in force today (in the venue's time zone), when
	// read from the store.
	Cycle     EffectiveCycle
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Validate normalizes and checks a new contract: a zero cycle takes
// DefaultOnSiteCycleDays.
func (c *MaintenanceContract) Validate() error {
	var p Problems
	checkID(&p, "elevator_id", c.ElevatorID)
	checkID(&p, "firm_id", c.FirmOrgID)
	if c.OnSiteCycleDays == 0 {
		c.OnSiteCycleDays = DefaultOnSiteCycleDays
	}
	if c.OnSiteCycleDays < 1 || c.OnSiteCycleDays > DefaultOnSiteCycleDays {
		p.Addf("onsite_cycle_days", "must be between 1 and %d (a longer cycle needs an agreement with the venue)", DefaultOnSiteCycleDays)
	}
	start, err := time.Parse(DateLayout, c.StartsOn)
	if err != nil {
		p.Add("starts_on", "must be a date such as 2026-12-01")
	}
	if c.EndsOn != "" {
		end, eerr := time.Parse(DateLayout, c.EndsOn)
		switch {
		case eerr != nil:
			p.Add("ends_on", "must be a date such as 2027-11-30")
		case err == nil && end.Before(start):
			p.Add("ends_on", "must not be before starts_on")
		}
	}
	return p.Err()
}

// ActiveOn reports whether the contract covers day (YYYY-MM-DD).
func (c MaintenanceContract) ActiveOn(day string) bool {
	return c.StartsOn <= day && (c.EndsOn == "" || day <= c.EndsOn)
}

// AgreementState is where an extended-cycle agreement is.
//
//	proposed → accepted | rejected | revoked | expired
//	accepted → suspended | revoked | expired
//	suspended → accepted (reinstated) | revoked | expired
type AgreementState string

// Agreement states.
const (
	AgreementProposed  AgreementState = "proposed"
	AgreementAccepted  AgreementState = "accepted"
	AgreementRejected  AgreementState = "rejected"
	AgreementRevoked   AgreementState = "revoked"
	AgreementExpired   AgreementState = "expired"
	AgreementSuspended AgreementState = "suspended"
)

// AgreementStates lists every state.
var AgreementStates = []AgreementState{AgreementProposed, AgreementAccepted, AgreementRejected, AgreementRevoked,
	AgreementExpired, AgreementSuspended}

// Valid reports whether s is a known state.
func (s AgreementState) Valid() bool { return slices.Contains(AgreementStates, s) }

// Live reports whether an agreement in s still claims its window: a
// proposal awaiting an answer, or an accepted or suspended agreement. A
// new proposal may not overlap a live one.
func (s AgreementState) Live() bool {
	return s == AgreementProposed || s == AgreementAccepted || s == AgreementSuspended
}

// AgreementEvent moves an agreement. Accept and reject are the venue
// operator's, revoke either party's or the regulator's; expire, suspend and
// reinstate are calibd's own (the window ended; a critical fault or a
// failed remote check; an on-site visit cleared the lift).
type AgreementEvent string

// Agreement events.
const (
	AgreementAccept    AgreementEvent = "accept"
	AgreementReject    AgreementEvent = "reject"
	AgreementRevoke    AgreementEvent = "revoke"
	AgreementExpire    AgreementEvent = "expire"
	AgreementSuspend   AgreementEvent = "suspend"
	AgreementReinstate AgreementEvent = "reinstate"
)

// Next returns the state e leads to from s, or a ConflictError
// "invalid_transition".
func (s AgreementState) Next(e AgreementEvent) (AgreementState, error) {
	switch {
	case e == AgreementAccept && s == AgreementProposed:
		return AgreementAccepted, nil
	case e == AgreementReject && s == AgreementProposed:
		return AgreementRejected, nil
	case (e == AgreementRevoke || e == AgreementExpire) && s.Live():
		if e == AgreementRevoke {
			return AgreementRevoked, nil
		}
		return AgreementExpired, nil
	case e == AgreementSuspend && s == AgreementAccepted:
		return AgreementSuspended, nil
	case e == AgreementReinstate && s == AgreementSuspended:
		return AgreementAccepted, nil
	}
	return "", Conflict("invalid_transition", "a %s agreement cannot be %s", s, pastTense(e))
}

func pastTense(e AgreementEvent) string {
	switch e {
	case AgreementAccept:
		return "accepted"
	case AgreementReject:
		return "rejected"
	case AgreementRevoke:
		return "revoked"
	case AgreementExpire:
		return "expired"
	case AgreementSuspend:
		return "suspended"
	case AgreementReinstate:
		return "reinstated"
	}
	return string(e)
}

// CycleAgreement is a firm's agreement with a lift's venue operator to
// stretch the on-site maintenance cycle and check remotely (by video) in
// between (DOMAIN.md §4.2). Only an accepted agreement whose window covers
// a day changes that day's cycle.
type CycleAgreement struct {
	ID                 string
	ContractID         string
	ElevatorID         string
	VenueID            string
	OperatorOrgID      string
	FirmOrgID          string
	OnSiteCycleDays    int
	RemoteIntervalDays int
	ValidFrom          string // YYYY-MM-DD
	ValidTo            string // inclusive
	Reason             string
	State              AgreementState
	StateReason        string // why it was rejected, revoked or suspended
	Version            int
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// ValidateProposal checks a proposal against the contract's own cycle and
// the deployment's bound: the on-site cycle must stretch the contract's
// and stay within maxCycle, remote checks must come more often than
// on-site visits, and the window must be at most a year inside the
// contract.
func (a *CycleAgreement) ValidateProposal(c MaintenanceContract, maxCycle int) error {
	var p Problems
	a.Reason = strings.TrimSpace(a.Reason)
	checkText(&p, "reason", a.Reason, true, 2000)
	switch {
	case a.OnSiteCycleDays <= c.OnSiteCycleDays:
		p.Addf("onsite_cycle_days", "must be longer than the contract's %d days (an agreement stretches the cycle)", c.OnSiteCycleDays)
	case a.OnSiteCycleDays > maxCycle:
		p.Addf("onsite_cycle_days", "must be at most %d days (the bound for extended cycles)", maxCycle)
	}
	switch {
	case a.RemoteIntervalDays < 1:
		p.Add("remote_interval_days", "must be at least 1")
	case a.RemoteIntervalDays >= a.OnSiteCycleDays:
		p.Add("remote_interval_days", "must be shorter than the on-site cycle")
	}
	var wp Problems
	checkWindow(&wp, "valid_from", "valid_to", a.ValidFrom, a.ValidTo)
	if wp.Err() != nil {
		p.Merge(wp.Err())
	} else {
		if a.ValidFrom < c.StartsOn {
			p.Add("valid_from", "must not be before the contract starts ("+c.StartsOn+")")
		}
		if c.EndsOn != "" && a.ValidTo > c.EndsOn {
			p.Add("valid_to", "must not be after the contract ends ("+c.EndsOn+")")
		}
	}
	return p.Err()
}

// Overlaps reports whether the two windows share a day.
func (a CycleAgreement) Overlaps(b CycleAgreement) bool {
	return a.ValidFrom <= b.ValidTo && b.ValidFrom <= a.ValidTo
}

// Governs reports whether the agreement sets the cycle on day.
func (a CycleAgreement) Governs(day string) bool {
	return a.State == AgreementAccepted && a.ValidFrom <= day && day <= a.ValidTo
}

// EffectiveCycle is the on-site cycle in force on a day and the remote
// inspection interval between visits (0: no remote inspections), with the
// agreement that sets them ("" for the contract's own cycle).
type EffectiveCycle struct {
	OnSiteDays     int
	RemoteDays     int
	AgreementID    string
	ContractCycle  int
	AgreementUntil string
}

// CycleOn is the cycle in force on day under contract c and its
// agreements: the first accepted agreement whose window covers the day,
// else the contract's own.
func CycleOn(c MaintenanceContract, agreements []CycleAgreement, day string) EffectiveCycle {
	out := EffectiveCycle{OnSiteDays: c.OnSiteCycleDays, ContractCycle: c.OnSiteCycleDays}
	for _, a := range agreements {
		if a.ContractID == c.ID && a.Governs(day) {
			out.OnSiteDays, out.RemoteDays, out.AgreementID, out.AgreementUntil = a.OnSiteCycleDays, a.RemoteIntervalDays, a.ID, a.ValidTo
			return out
		}
	}
	return out
}

// Audit names of lift maintenance.
const (
	ResourceContract  = "maintenance_contract"
	ResourceAgreement = "cycle_agreement"
	ActionEnd         = "end"
)

// ContractFilter narrows a contract list.
type ContractFilter struct {
	ElevatorID string
	VenueID    string
	FirmID     string
}

// AgreementFilter narrows an agreement list.
type AgreementFilter struct {
	ElevatorID string
	ContractID string
	State      AgreementState
}

// MaintenanceStore keeps maintenance contracts and extended-cycle
// agreements. A contract and its agreements are seen by the lift's venue
// operator, the contracted firm and the regulator; anyone else gets
// ErrNotFound.
type MaintenanceStore interface {
	// CreateContract: the lift's venue operator contracts a maintenance
	// firm. Returns *ValidationError (firm_id not a firm, elevator retired),
	// ErrNotFound (a lift the actor cannot see), ErrForbidden (not its
	// operator) or a ConflictError "overlapping_contract" when another
	// contract covers part of the span.
	CreateContract(ctx context.Context, a Actor, c *MaintenanceContract) error
	GetContract(ctx context.Context, a Actor, id string) (MaintenanceContract, error)
	ListContracts(ctx context.Context, a Actor, f ContractFilter, p Page) ([]MaintenanceContract, string, error)
	// EndContract sets the last day of a contract (the operator's act; the
	// firm's records stay). ConflictError "invalid_transition" when it has
	// ended already before that day.
	EndContract(ctx context.Context, a Actor, id string, version int, endsOn, reason string) (MaintenanceContract, error)
	// ProposeAgreement: the contracted firm proposes an extended cycle.
	// Returns *ValidationError (the proposal rules, naming the field),
	// ErrForbidden (not the firm, or its contract has ended) or a
	// ConflictError "overlapping_agreement".
	ProposeAgreement(ctx context.Context, a Actor, ag *CycleAgreement) error
	GetAgreement(ctx context.Context, a Actor, id string) (CycleAgreement, error)
	ListAgreements(ctx context.Context, a Actor, f AgreementFilter, p Page) ([]CycleAgreement, string, error)
	// ActOnAgreement accepts or rejects (the venue operator) or revokes
	// (either party or the regulator) at the caller's version; reject and
	// revoke need a reason.
	ActOnAgreement(ctx context.Context, a Actor, id string, version int, e AgreementEvent, reason string) (CycleAgreement, error)
	// ExpireAgreements ends every live agreement whose window closed
	// before today in its venue's time zone; returns how many.
	ExpireAgreements(ctx context.Context, now time.Time) (int, error)
}
