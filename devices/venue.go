package devices

import (
	"strings"
	"time"
)

// VenueKind is the kind of public place; it drives visit priority later.
type VenueKind string

// Venue kinds.
const (
	VenueAirport        VenueKind = "airport"
	VenueRailwayStation VenueKind = "railway_station"
	VenueBusStation     VenueKind = "bus_station"
	VenueMall           VenueKind = "mall"
	VenueSupermarket    VenueKind = "supermarket"
	VenueHospital       VenueKind = "hospital"
	VenueSchool         VenueKind = "school"
	VenueOther          VenueKind = "other"
)

// VenueKinds lists every venue kind.
var VenueKinds = []VenueKind{VenueAirport, VenueRailwayStation, VenueBusStation, VenueMall,
	VenueSupermarket, VenueHospital, VenueSchool, VenueOther}

// Valid reports whether k is a known venue kind.
func (k VenueKind) Valid() bool {
	for _, v := range VenueKinds {
		if k == v {
			return true
		}
	}
	return false
}

// Contact is the person to call at a venue.
type Contact struct {
	Name  string
	Phone string
	Email string
}

// Venue is a public place run by a venue operator, holding thermometers and
// elevators.
type Venue struct {
	ID            string
	Name          string
	Kind          VenueKind
	Address       string
	RegionCode    string
	Lat           *float64
	Lon           *float64
	TimeZone      string
	OperatorOrgID string
	Contact       Contact
	Retired       bool
	Version       int
	CreatedAt     time.Time
	UpdatedAt     time.Time
	RetiredAt     *time.Time
}

// Validate checks every caller-supplied field.
func (v *Venue) Validate() error {
	var p Problems
	v.Name = strings.TrimSpace(v.Name)
	checkText(&p, "name", v.Name, true, 200)
	if !v.Kind.Valid() {
		p.Addf("kind", "must be one of %s", joinKinds(VenueKinds))
	}
	checkText(&p, "address", v.Address, false, 500)
	checkRegion(&p, "region_code", &v.RegionCode, true)
	if (v.Lat == nil) != (v.Lon == nil) {
		p.Add("lat", "lat and lon must be given together")
	}
	if v.Lat != nil && checkFinite(&p, "lat", *v.Lat) && (*v.Lat < -90 || *v.Lat > 90) {
		p.Add("lat", "must be between -90 and 90")
	}
	if v.Lon != nil && checkFinite(&p, "lon", *v.Lon) && (*v.Lon < -180 || *v.Lon > 180) {
		p.Add("lon", "must be between -180 and 180")
	}
	checkZone(&p, "time_zone", v.TimeZone)
	checkText(&p, "contact.name", v.Contact.Name, false, 200)
	checkText(&p, "contact.phone", v.Contact.Phone, false, 50)
	checkEmail(&p, "contact.email", v.Contact.Email)
	return p.Err()
}

// VenuePatch holds the fields an update may change; nil means keep. For Lat
// and Lon a non-nil pointer to nil clears the value.
type VenuePatch struct {
	Name         *string
	Kind         *VenueKind
	Address      *string
	RegionCode   *string
	Lat          **float64
	Lon          **float64
	TimeZone     *string
	ContactName  *string
	ContactPhone *string
	ContactEmail *string
}

// Apply changes v in place and reports what changed.
func (v *Venue) Apply(p VenuePatch) Changes {
	c := Changes{}
	setField(c, "name", &v.Name, normalized(p.Name, nil))
	setField(c, "kind", &v.Kind, p.Kind)
	setField(c, "address", &v.Address, p.Address)
	setField(c, "region_code", &v.RegionCode, normalized(p.RegionCode, strings.ToUpper))
	setOptional(c, "lat", &v.Lat, p.Lat)
	setOptional(c, "lon", &v.Lon, p.Lon)
	setField(c, "time_zone", &v.TimeZone, p.TimeZone)
	setField(c, "contact.name", &v.Contact.Name, p.ContactName)
	setField(c, "contact.phone", &v.Contact.Phone, p.ContactPhone)
	setField(c, "contact.email", &v.Contact.Email, p.ContactEmail)
	return c
}

// VenueFilter narrows a venue list. Empty fields do not filter.
type VenueFilter struct {
	Kind          VenueKind
	RegionCode    string
	OperatorOrgID string
	// IncludeRetired lists retired venues too.
	IncludeRetired bool
}
