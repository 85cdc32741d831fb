package devices

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"strings"
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
	// BrokerLogins lists the current logins (not revoked, device not
	// retired) for a broker password file.
	BrokerLogins(ctx context.Context) ([]BrokerLogin, error)
}

// Mosquitto's password-file format ($7$: PBKDF2-HMAC-SHA512, 101
// iterations, 12-byte salt, 64-byte key, standard base64), as
// mosquitto_passwd 2.x writes it.
const mosquittoIterations = 101

// MosquittoHash hashes secret for a Mosquitto password file.
func MosquittoHash(secret string) (string, error) {
	salt := make([]byte, 12)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha512.New, secret, salt, mosquittoIterations, 64)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$7$%d$%s$%s", mosquittoIterations, base64.StdEncoding.EncodeToString(salt),
		base64.StdEncoding.EncodeToString(key)), nil
}

// BrokerLogin is one line of a broker password file.
type BrokerLogin struct {
	Username      string
	MosquittoHash string
}

// MosquittoACL is the ACL file that keeps devices to their own topics (the
// pattern applies to every user, %u being the device id) and lets the
// ingest login read every device topic, shared subscriptions included.
func MosquittoACL(ingestUser string) string {
	var b strings.Builder
	b.WriteString("# Written by calibd broker export. Devices: username = device id.\n")
	for _, leaf := range []string{"checks", "telemetry", "events"} {
		fmt.Fprintf(&b, "pattern write %s%%u/%s\n", TopicPrefix, leaf)
		fmt.Fprintf(&b, "pattern write %s%%u/%s/senml\n", TopicPrefix, leaf)
	}
	if ingestUser != "" {
		fmt.Fprintf(&b, "\nuser %s\ntopic read %s#\n", ingestUser, TopicPrefix)
	}
	return b.String()
}
