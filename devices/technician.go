package devices

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// ResourceTechnician names technicians in the audit log.
const ResourceTechnician = "technician"

// MaxVisitTechnicians bounds how many technicians one visit takes.
const MaxVisitTechnicians = 20

// Technician is a person of a metrology institute who goes on visits.
// Retiring keeps the record (visits name who went) and records when.
type Technician struct {
	ID          string
	InstituteID string
	Name        string
	Email       string
	Phone       string
	RetiredAt   *time.Time
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Retired reports whether the technician no longer takes visits.
func (t Technician) Retired() bool { return t.RetiredAt != nil }

// Validate checks the caller-supplied fields; it trims them.
func (t *Technician) Validate() error {
	var p Problems
	t.Name = strings.TrimSpace(t.Name)
	t.Email = strings.TrimSpace(t.Email)
	t.Phone = strings.TrimSpace(t.Phone)
	checkText(&p, "name", t.Name, true, 200)
	checkEmail(&p, "email", t.Email)
	checkText(&p, "phone", t.Phone, false, 50)
	return p.Err()
}

// TechnicianPatch holds the fields an update may change; nil means keep.
type TechnicianPatch struct {
	Name  *string
	Email *string
	Phone *string
}

// Apply changes t in place and reports what changed.
func (t *Technician) Apply(p TechnicianPatch) Changes {
	c := Changes{}
	setField(c, "name", &t.Name, normalized(p.Name, nil))
	setField(c, "email", &t.Email, normalized(p.Email, nil))
	setField(c, "phone", &t.Phone, normalized(p.Phone, nil))
	return c
}

// TechnicianFilter narrows a technician list. Empty fields do not filter.
type TechnicianFilter struct {
	InstituteID string
	// IncludeRetired lists retired technicians too.
	IncludeRetired bool
}

// VisitTechnician is a technician as a visit names it: enough for the
// venue's operator to know who is coming.
type VisitTechnician struct {
	ID   string
	Name string
}

// CheckTechnicianIDs validates the list that replaces a visit's
// technicians: UUIDs, each once, at most MaxVisitTechnicians; empty
// clears the assignment. It lower-cases the ids.
func CheckTechnicianIDs(ids []string) error {
	var p Problems
	if len(ids) > MaxVisitTechnicians {
		p.Addf("technician_ids", "at most %d technicians per visit", MaxVisitTechnicians)
	}
	checkIDList(&p, "technician_ids", ids)
	return p.Err()
}

// checkIDList reports each element of ids that is not a UUID or repeats an
// earlier one as field[i], and lower-cases the ids.
func checkIDList(p *Problems, field string, ids []string) {
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		f := field + "[" + strconv.Itoa(i) + "]"
		id = strings.ToLower(id)
		ids[i] = id
		switch {
		case !IsUUID(id):
			p.Add(f, "must be a UUID")
		case seen[id]:
			p.Add(f, "is listed twice")
		}
		seen[id] = true
	}
}

// TechnicianStore keeps an institute's technicians and who goes on which
// visit.
type TechnicianStore interface {
	// CreateTechnician registers a technician of the actor's institute (ID,
	// InstituteID, version and times are set): ErrForbidden unless a
	// metrology institute's token; *ValidationError.
	CreateTechnician(ctx context.Context, a Actor, t *Technician) error
	// GetTechnician: an institute sees its own, the regulator every one;
	// anyone else ErrNotFound.
	GetTechnician(ctx context.Context, a Actor, id string) (Technician, error)
	// ListTechnicians lists what GetTechnician would show (others: empty).
	ListTechnicians(ctx context.Context, a Actor, f TechnicianFilter, p Page) ([]Technician, string, error)
	// UpdateTechnician: ErrNotFound, ErrForbidden (only its institute),
	// ErrPreconditionFailed when version is stale, a ConflictError
	// "retired", *ValidationError.
	UpdateTechnician(ctx context.Context, a Actor, id string, version int, p TechnicianPatch) (Technician, error)
	// RetireTechnician: as UpdateTechnician; a ConflictError
	// "technician_in_use" while visits not completed or cancelled name the
	// technician. Retiring a retired technician changes nothing.
	RetireTechnician(ctx context.Context, a Actor, id string, version int) (Technician, error)
	// AssignTechnicians replaces the visit's technicians with ids (empty
	// clears) at the caller's version: ErrNotFound for an invisible visit,
	// ErrForbidden unless the visit's institute, a ConflictError
	// "invalid_transition" for a completed or cancelled visit, and a
	// *ValidationError naming technician_ids[i] for an id that is not an
	// active technician of the visit's institute.
	AssignTechnicians(ctx context.Context, a Actor, visitID string, version int, ids []string) (Visit, error)
}
