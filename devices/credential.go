package devices

import (
	"context"
	"time"
)

// DeviceKind says what a device id names.
type DeviceKind string

// Device kinds that connect over MQTT.
const (
	DeviceThermometer DeviceKind = "thermometer"
	DeviceElevator    DeviceKind = "elevator"
)

// ResourceDeviceCredential names device MQTT credentials in the audit log.
const ResourceDeviceCredential = "device_credential"

// DeviceCredential is a device's MQTT credential: the username is the
// device id, the password a random secret shown once and stored hashed.
// Issuing again rotates it (the old secret stops working at once);
// revoking ends it.
type DeviceCredential struct {
	DeviceID      string
	Kind          DeviceKind
	VenueID       string
	OperatorOrgID string
	IssuedAt      time.Time
	RevokedAt     *time.Time
	Rotations     int // how many times it was issued again
	Version       int
}

// DeviceIdentity is who a broker connection authenticated as.
type DeviceIdentity struct {
	DeviceID      string
	Kind          DeviceKind
	VenueID       string
	OperatorOrgID string
}

// MayPublish reports whether the device may publish on topic: only on its
// own topics of the contract (ParseTopic), never with wildcards.
func (d DeviceIdentity) MayPublish(topic string) bool {
	id, _, _, err := ParseTopic(topic)
	return err == nil && id == d.DeviceID
}

// DeviceCredentialStore keeps device MQTT credentials.
type DeviceCredentialStore interface {
	// IssueDeviceSecret issues or rotates the secret of a thermometer or
	// lift the actor's organization operates (others: ErrForbidden; a
	// device the actor cannot see: ErrNotFound; a retired one: a
	// ConflictError "retired"). The secret is returned once.
	IssueDeviceSecret(ctx context.Context, a Actor, deviceID string) (DeviceCredential, string, error)
	GetDeviceCredential(ctx context.Context, a Actor, deviceID string) (DeviceCredential, error)
	RevokeDeviceSecret(ctx context.Context, a Actor, deviceID string) (DeviceCredential, error)
	// AuthenticateDevice checks a broker login: the username is the device
	// id, the password its current secret. ErrUnauthenticated otherwise.
	AuthenticateDevice(ctx context.Context, username, password string) (DeviceIdentity, error)
}
