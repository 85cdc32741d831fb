package devices

// ToleranceProfile is a governing document's maximum permissible error (MPE)
// over a temperature range for some thermometer types (DOMAIN.md §1.2). The
// profiles are seeded by a migration; a thermometer's MPE comes from its
// profile unless overridden with a reason.
type ToleranceProfile struct {
	Code                string
	Title               string
	Document            string
	Types               []ThermometerType
	RangeMinC           float64
	RangeMaxC           float64
	MPEC                float64
	DefaultIntervalDays int
	// Source is the DOMAIN.md source key(s), or "unverified".
	Source string
}

// Fits reports whether the profile may govern a thermometer of type t.
func (p ToleranceProfile) Fits(t ThermometerType) bool {
	for _, x := range p.Types {
		if x == t {
			return true
		}
	}
	return false
}

// DefaultProfile is the profile a thermometer of each type gets when the
// caller names none: the Chinese document that governs that type.
var DefaultProfile = map[ThermometerType]string{
	TypeIREar:          "jjg1164_ear",
	TypeIRForehead:     "jjf1107_forehead",
	TypeIRScreening:    "jjf1107_screening",
	TypeMedicalContact: "jjg1162_contact",
}
