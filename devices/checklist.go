package devices

import (
	"slices"
	"strings"
)

// MaintenanceCategory is a TSG T5002-2017 maintenance category. The
// categories are cumulative: an annual maintenance covers the semi-annual,
// quarterly and half-monthly items too (DOMAIN.md §4.1).
type MaintenanceCategory string

// Maintenance categories, smallest first.
const (
	CategoryHalfMonthly MaintenanceCategory = "half_monthly"
	CategoryQuarterly   MaintenanceCategory = "quarterly"
	CategorySemiAnnual  MaintenanceCategory = "semi_annual"
	CategoryAnnual      MaintenanceCategory = "annual"
)

// MaintenanceCategories lists every category, smallest first.
var MaintenanceCategories = []MaintenanceCategory{CategoryHalfMonthly, CategoryQuarterly, CategorySemiAnnual, CategoryAnnual}

// Valid reports whether c is a known category.
func (c MaintenanceCategory) Valid() bool { return slices.Contains(MaintenanceCategories, c) }

// Rank orders the categories: half_monthly 0 … annual 3; -1 for an
// unknown one.
func (c MaintenanceCategory) Rank() int { return slices.Index(MaintenanceCategories, c) }

// PeriodDays is how often the category falls due: every on-site visit
// for the half-monthly items (the cycle decides), a quarter, half a year
// and a year for the others.
func (c MaintenanceCategory) PeriodDays() int {
	switch c {
	case CategoryQuarterly:
		return 90
	case CategorySemiAnnual:
		return 180
	case CategoryAnnual:
		return 365
	}
	return 0
}

// Covers reports whether a maintenance of category c includes the items
// of category other (cumulative categories).
func (c MaintenanceCategory) Covers(other MaintenanceCategory) bool {
	return c.Valid() && other.Valid() && other.Rank() <= c.Rank()
}

// ChecklistItem is one item of TSG T5002-2017 Appendix A (traction and
// positive-drive lifts). Remote marks the items a technician can verify
// over video with venue staff on site (DOMAIN.md §4.4): lighting, alarm
// and intercom, displays and buttons, doors and their protective devices,
// levelling, sills and a visual look at the machine room and pit. The
// rest (brake, locks, contacts, governor, ropes, lubrication) stay on site.
type ChecklistItem struct {
	Code     string
	Category MaintenanceCategory
	Title    string
	Remote   bool
}

// ChecklistSource says where the items come from; the titles are
// paraphrased in English and the list should be confirmed against the
// purchased regulation before a compliance rule relies on its wording.
const ChecklistSource = "TSG T5002-2017 Appendix A (traction and positive-drive lifts) [S26]; titles paraphrased"

// Checklist holds the items of every category in order: 31 half-monthly,
// 13 quarterly, 15 semi-annual and 17 annual (76 in all, DOMAIN.md §4.1).
var Checklist = []ChecklistItem{
	{"HM01", CategoryHalfMonthly, "Machine room and pulley room: clean, doors and windows sound, lighting working", true},
	{"HM02", CategoryHalfMonthly, "Manual emergency operation devices: complete and at their designated place", false},
	{"HM03", CategoryHalfMonthly, "Drive machine: no abnormal vibration or noise when running", false},
	{"HM04", CategoryHalfMonthly, "Brake pins and pivots: move freely", false},
	{"HM05", CategoryHalfMonthly, "Brake gap: linings clear of the drum when open, gap as the manufacturer specifies", false},
	{"HM06", CategoryHalfMonthly, "Brake as the stopping element of the unintended-movement protection: self-monitoring records and manual check", false},
	{"HM07", CategoryHalfMonthly, "Encoder: clean and firmly mounted", false},
	{"HM08", CategoryHalfMonthly, "Overspeed governor pins and pivots: lubricated, turn freely; electrical switch works", false},
	{"HM09", CategoryHalfMonthly, "Landing and car door bypass device: works", false},
	{"HM10", CategoryHalfMonthly, "Emergency electrical operation: works", false},
	{"HM11", CategoryHalfMonthly, "Car top: clean, balustrade secure", false},
	{"HM12", CategoryHalfMonthly, "Car-top inspection switch and stop switch: work", false},
	{"HM13", CategoryHalfMonthly, "Guide-shoe oil cups: felt present, oil level right, no leaks", false},
	{"HM14", CategoryHalfMonthly, "Counterweight filler blocks and clamps: no loose blocks, clamps tight", false},
	{"HM15", CategoryHalfMonthly, "Well lighting: complete and working", false},
	{"HM16", CategoryHalfMonthly, "Car lighting, fan and emergency lighting: work", true},
	{"HM17", CategoryHalfMonthly, "Car inspection switch and stop switch: work", false},
	{"HM18", CategoryHalfMonthly, "Car alarm device and intercom: work (call goes through)", true},
	{"HM19", CategoryHalfMonthly, "Car displays, command buttons and card reader: complete and working", true},
	{"HM20", CategoryHalfMonthly, "Car door protective device (safety edge, light curtain): reopens the door", true},
	{"HM21", CategoryHalfMonthly, "Car door lock electrical contacts: clean, good contact, wiring sound", false},
	{"HM22", CategoryHalfMonthly, "Car door operation: opens and closes normally", true},
	{"HM23", CategoryHalfMonthly, "Car levelling accuracy: within the standard value at each landing", true},
	{"HM24", CategoryHalfMonthly, "Landing call buttons and floor indicators: complete and working", true},
	{"HM25", CategoryHalfMonthly, "Landing door sills: clean", true},
	{"HM26", CategoryHalfMonthly, "Landing door self-closing device: works", true},
	{"HM27", CategoryHalfMonthly, "Landing door lock resets by itself after release with the emergency key", false},
	{"HM28", CategoryHalfMonthly, "Landing door lock electrical contacts: clean, good contact, wiring sound", false},
	{"HM29", CategoryHalfMonthly, "Landing door locking element engagement: at least 7 mm", false},
	{"HM30", CategoryHalfMonthly, "Pit: clean, no seepage or standing water, lighting working", true},
	{"HM31", CategoryHalfMonthly, "Pit stop switch: works", false},

	{"Q01", CategoryQuarterly, "Gearbox oil: level right, no leaks except at the worm shaft end", false},
	{"Q02", CategoryQuarterly, "Brake linings: clean, wear within the manufacturer's limit", false},
	{"Q03", CategoryQuarterly, "Encoder: works", false},
	{"Q04", CategoryQuarterly, "Floor selector contacts: clean, no burning", false},
	{"Q05", CategoryQuarterly, "Traction sheave grooves and suspension means: clean, ropes not greasy, tension even", false},
	{"Q06", CategoryQuarterly, "Governor sheave groove and governor rope: clean, not greasy", false},
	{"Q07", CategoryQuarterly, "Guide shoe linings and rollers: clean, wear within limits", false},
	{"Q08", CategoryQuarterly, "Electrical safety device proving the car door closed: works", false},
	{"Q09", CategoryQuarterly, "Door drive ropes, chains and belts: cleaned and adjusted as the manufacturer specifies", false},
	{"Q10", CategoryQuarterly, "Landing door guide shoes: wear within limits", false},
	{"Q11", CategoryQuarterly, "Firefighter switch: works", false},
	{"Q12", CategoryQuarterly, "Energy-dissipation buffers: electrical safety device works, oil level right, plunger free of rust", false},
	{"Q13", CategoryQuarterly, "Governor tension pulley and its electrical safety device: work", false},

	{"S01", CategorySemiAnnual, "Motor-gearbox coupling: tight, elastic elements sound", false},
	{"S02", CategorySemiAnnual, "Drive and deflector sheave bearings: quiet, no vibration, lubricated", false},
	{"S03", CategorySemiAnnual, "Traction sheave grooves: wear within the manufacturer's limit", false},
	{"S04", CategorySemiAnnual, "Brake monitoring switch: works, brake action signal detected", false},
	{"S05", CategorySemiAnnual, "Controller terminals: tight and tidy, wire numbers legible", false},
	{"S06", CategorySemiAnnual, "Controller meters: read correctly", false},
	{"S07", CategorySemiAnnual, "Well, counterweight and car-top diverter pulley bearings: quiet, lubricated", false},
	{"S08", CategorySemiAnnual, "Suspension and compensation ropes: wear and broken wires within limits", false},
	{"S09", CategorySemiAnnual, "Rope terminations: nuts tight", false},
	{"S10", CategorySemiAnnual, "Governor rope: wear and broken wires within the manufacturer's limit", false},
	{"S11", CategorySemiAnnual, "Landing and car door panels: clearances within the standard values", false},
	{"S12", CategorySemiAnnual, "Car door opening restrictor: works", false},
	{"S13", CategorySemiAnnual, "Counterweight buffer clearance: within the standard value", false},
	{"S14", CategorySemiAnnual, "Compensation chain or rope fixings at car and counterweight: secure", false},
	{"S15", CategorySemiAnnual, "Upper and lower final limit switches: work", false},

	{"A01", CategoryAnnual, "Controller contactor and relay contacts: good contact", false},
	{"A02", CategoryAnnual, "Brake plungers: cleaned, lubricated, wear within limits", false},
	{"A03", CategoryAnnual, "Brake capacity: as specified; a 125 % load test where needed", false},
	{"A04", CategoryAnnual, "Insulation of conductive circuits: within the standard", false},
	{"A05", CategoryAnnual, "Governor and safety gear linked test; governor tripping speed checked every 2 years up to 15 years of use, yearly after", false},
	{"A06", CategoryAnnual, "Ascending car overspeed protection: trips", false},
	{"A07", CategoryAnnual, "Unintended car movement protection: trips", false},
	{"A08", CategoryAnnual, "Car top, car frame, car door and fittings: bolts tight", false},
	{"A09", CategoryAnnual, "Car and counterweight guide rail brackets: secure", false},
	{"A10", CategoryAnnual, "Car and counterweight guide rails: clean, clips tight", false},
	{"A11", CategoryAnnual, "Travelling cable: undamaged", false},
	{"A12", CategoryAnnual, "Landing door assemblies and sills: no deformation affecting use, bolts tight", false},
	{"A13", CategoryAnnual, "Car load weighing device: accurate", false},
	{"A14", CategoryAnnual, "Safety gear blocks: secure", false},
	{"A15", CategoryAnnual, "Car floor bolts: tight", false},
	{"A16", CategoryAnnual, "Buffers: secure", false},
	// A17's wording is not confirmed (unverified, DOMAIN.md conventions);
	// the annual count of 17 is [S26].
	{"A17", CategoryAnnual, "Overload device: works at the rated load", false},
}

// ChecklistItemByCode finds an item.
func ChecklistItemByCode(code string) (ChecklistItem, bool) {
	i := slices.IndexFunc(Checklist, func(it ChecklistItem) bool { return it.Code == strings.ToUpper(code) })
	if i < 0 {
		return ChecklistItem{}, false
	}
	return Checklist[i], true
}

// ChecklistFor lists the items a maintenance of category c covers (its
// own and every smaller category's), in order; with remoteOnly, only the
// items that can be checked over video.
func ChecklistFor(c MaintenanceCategory, remoteOnly bool) []ChecklistItem {
	var out []ChecklistItem
	for _, it := range Checklist {
		if c.Covers(it.Category) && (!remoteOnly || it.Remote) {
			out = append(out, it)
		}
	}
	return out
}
