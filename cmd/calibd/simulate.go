package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/calibd/calibd/internal/simulate"
)

const simulateUsage = `calibd simulate: publish a fleet of simulated thermometers and lifts over MQTT

Usage:
  calibd simulate -provision -api URL -token T -credentials FILE [-devices N] [-lifts M] [-provision-only]
  calibd simulate -credentials FILE [-rate R] [-duration D] [flags]
  calibd simulate [-devices N] [-lifts M] -connections K ...   (random devices calibd does not know)
  calibd simulate -count-only [-broker URL | -embedded ADDR -credentials FILE] [-idle D]

Each device logs in as its id with its secret (-credentials, written by -provision with mode 0600),
one connection per device. -connections K multiplexes the fleet over K connections of one login
(-username/-password, or anonymous): only for brokers that let that login publish on every
device's topics; calibd's embedded broker does not.

Flags:
`

func simulateCmd(ctx context.Context, args []string, getenv func(string) string, log *slog.Logger, out io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	defBroker := getenv("MQTT_URL")
	if defBroker == "" {
		defBroker = "tcp://127.0.0.1:1883"
	}
	p := simulate.DefaultProfile()
	var (
		brokerURL   = fs.String("broker", defBroker, "MQTT broker `URL` (MQTT_URL when set)")
		credentials = fs.String("credentials", "", "fleet `file` (CSV device_id,kind,secret): written by -provision, read otherwise")
		rate        = fs.Float64("rate", 100, "total messages per second over the fleet, evenly paced; 0: as fast as acknowledged")
		duration    = fs.Duration("duration", 0, "how long to publish (0: until interrupted or -messages)")
		messages    = fs.Int64("messages", 0, "stop after this many messages (0: no limit)")
		qos         = fs.Int("qos", 1, "MQTT QoS of every publish")
		conns       = fs.Int("connections", 0, "MQTT connections carrying the fleet (0: one per device, logged in as the device)")
		username    = fs.String("username", "", "login of the shared connections (-connections > 0)")
		password    = fs.String("password", "", "password of the shared connections (-connections > 0)")
		workers     = fs.Int("workers", 0, "publishing goroutines (0: one per CPU)")
		inflight    = fs.Int("inflight", 0, "unacknowledged messages per worker before it waits (0: 4096)")
		seed        = fs.Uint64("seed", 0, "random seed: the same seed, fleet and start replay the same payloads (0: random, printed)")
		prefix      = fs.String("client-id-prefix", "calibd-sim", "MQTT client ids are PREFIX-{device id} or PREFIX-{k}")
		drain       = fs.Duration("drain-timeout", 30*time.Second, "how long the end waits for outstanding acknowledgements and alerts")
		inject      = fs.Duration("inject-oot-every", 0, "publish an out-of-tolerance check of a thermometer at this interval (0: never)")
		watch       = fs.Bool("watch-alerts", false, "poll the API (-api, -token) until each injected check's alert appears")
		watchEvery  = fs.Duration("watch-every", 10*time.Millisecond, "how often -watch-alerts polls")
		probeLog    = fs.String("probe-log", "", "write the injected checks (device, seq, publish time, alert seen) to this CSV `file`")
		summaryJSON = fs.String("summary-json", "", "also write the summary as JSON to this `file`")
		provision   = fs.Bool("provision", false, "register the fleet through the API first and write -credentials")
		provOnly    = fs.Bool("provision-only", false, "with -provision: stop after writing -credentials")
		apiURL      = fs.String("api", "http://127.0.0.1:8080", "calibd's HTTP address")
		token       = fs.String("token", getenv("CALIBD_TOKEN"), "API token: a venue operator's or a regulator's (default: CALIBD_TOKEN)")
		venue       = fs.String("venue", "", "with -provision: an existing venue of the operator (default: create one)")
		parallel    = fs.Int("parallel", 8, "with -provision: credentials issued at once")
		countOnly   = fs.Bool("count-only", false, "subscribe and count device messages instead of publishing")
		embedded    = fs.String("embedded", "", "with -count-only: run calibd's embedded broker on this `address`, logging devices in from -credentials")
		idle        = fs.Duration("idle", 0, "with -count-only: stop once messages came and then none for this long")
		clientID    = fs.String("client-id", "calibd-sim-count", "with -count-only: the counter's MQTT client id (it connects with a clean session, "+
			"so naming a persistent subscriber's id discards that subscriber's session and queue)")
	)
	var nTherm, nLifts optionalCount
	fs.Var(&nTherm, "devices", "`count` of thermometers (default: all in -credentials; 100 when provisioning or random)")
	fs.Var(&nLifts, "lifts", "`count` of lifts (default: all in -credentials; 0 when provisioning or random)")
	fs.Float64Var(&p.NoiseC, "noise", p.NoiseC, "standard deviation σ of a check's error, °C")
	fs.Float64Var(&p.DriftPerDay, "drift", p.DriftPerDay, "drift of each thermometer's error, °C per day (each drifts at 0.5 to 1.5 times it)")
	fs.Float64Var(&p.DaysPerMinute, "days-per-minute", p.DaysPerMinute, "time compression for drift: simulated days per real minute (0: real time)")
	fs.Float64Var(&p.ReferenceC, "reference", p.ReferenceC, "reference source temperature of the checks, °C")
	fs.Float64Var(&p.BadShare, "bad", p.BadShare, "share of messages (0..1) sent as payloads calibd must dead-letter")
	fs.Float64Var(&p.FaultShare, "faults", p.FaultShare, "share of lift messages (0..1) that are fault events")
	fs.Float64Var(&p.OOTOffsetC, "oot-offset", p.OOTOffsetC, "how far beyond the reference an injected out-of-tolerance check reads, °C")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(out, simulateUsage)
			fs.SetOutput(out)
			fs.PrintDefaults()
			return nil
		}
		return fmt.Errorf("simulate: %w (calibd simulate -h lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("simulate: unexpected argument %q (calibd simulate -h lists the flags)", fs.Arg(0))
	}
	if *qos < 0 || *qos > 2 {
		return errors.New("simulate: -qos must be 0, 1 or 2")
	}
	if *seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		*seed = binary.LittleEndian.Uint64(b[:]) >> 1
	}
	root := log
	log = log.With("component", "simulate")

	if *countOnly {
		cc := simulate.CountConfig{BrokerURL: *brokerURL, Username: *username, Password: *password, ClientID: *clientID,
			QoS: byte(*qos), Duration: *duration, Idle: *idle, Log: log}
		return countCmd(ctx, root, out, cc, *embedded, *credentials, *summaryJSON)
	}

	var fleet []simulate.Device
	switch {
	case *provision:
		if *credentials == "" {
			return errors.New("simulate: -provision needs -credentials FILE to write the device secrets to")
		}
		api, err := simulate.NewAPI(*apiURL, *token)
		if err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		nt, nl := nTherm.get(), nLifts.get()
		if nt < 0 {
			nt = 100
		}
		nl = max(nl, 0)
		res, err := simulate.Provision(ctx, simulate.ProvisionConfig{API: api, VenueID: *venue, Thermometers: nt, Lifts: nl,
			Parallel: *parallel, Log: log})
		if err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		if err := simulate.WriteCredentials(*credentials, res.Fleet); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		fmt.Fprintf(out, "provisioned %d thermometers and %d lifts in venue %s (operator %s); credentials in %s\n",
			nt, nl, res.VenueID, res.OperatorOrgID, *credentials)
		if *provOnly {
			return nil
		}
		fleet = res.Fleet
	case *provOnly:
		return errors.New("simulate: -provision-only needs -provision")
	case *credentials != "":
		all, err := simulate.ReadCredentials(*credentials)
		if err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		if fleet, err = simulate.Select(all, nTherm.get(), nLifts.get()); err != nil {
			return fmt.Errorf("simulate: %s: %w", *credentials, err)
		}
	default:
		nt, nl := nTherm.get(), max(nLifts.get(), 0)
		if nt < 0 {
			nt = 100
		}
		fleet = simulate.RandomFleet(nt, nl, *seed)
		log.Info("no -credentials: publishing as random devices calibd does not know (broker tests only)", "devices", len(fleet))
	}

	cfg := simulate.Config{BrokerURL: *brokerURL, Fleet: fleet, Profile: p, Seed: *seed, Rate: *rate, Duration: *duration,
		Messages: *messages, QoS: byte(*qos), Connections: *conns, Username: *username, Password: *password,
		Workers: *workers, Inflight: *inflight, ClientIDPrefix: *prefix, InjectEvery: *inject, DrainTimeout: *drain, Log: log}
	if *watch {
		if *inject <= 0 {
			return errors.New("simulate: -watch-alerts needs -inject-oot-every")
		}
		api, err := simulate.NewAPI(*apiURL, *token)
		if err != nil {
			return fmt.Errorf("simulate: -watch-alerts: %w", err)
		}
		cfg.Alerts = simulate.NewAlertWatcher(api, *watchEvery, 0)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("simulate: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	sum, err := simulate.Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	sum.WriteText(out)
	if *summaryJSON != "" {
		if err := sum.WriteJSON(*summaryJSON); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
	}
	if *probeLog != "" {
		if err := sum.WriteProbeLog(*probeLog); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
	}
	return nil
}

// countCmd runs the counting subscriber, on the given broker or on an
// embedded broker of its own.
func countCmd(ctx context.Context, root *slog.Logger, out io.Writer, cc simulate.CountConfig, embeddedAddr, credentials, summaryJSON string) error {
	if embeddedAddr != "" {
		if credentials == "" {
			return errors.New("simulate: -embedded needs -credentials FILE: the devices it lets in")
		}
		fleet, err := simulate.ReadCredentials(credentials)
		if err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		e, err := simulate.StartEmbedded(embeddedAddr, fleet, root.With("component", "broker"))
		if err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
		defer e.Close()
		cc.Log.Info("embedded broker listening", "url", e.URL(), "devices", len(fleet))
		cc.BrokerURL = e.URL()
		cc.Username, cc.Password = e.CounterLogin()
	}
	res, err := simulate.Count(ctx, cc)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	res.WriteText(out)
	if summaryJSON != "" {
		if err := res.WriteJSON(summaryJSON); err != nil {
			return fmt.Errorf("simulate: %w", err)
		}
	}
	return nil
}

// optionalCount is a count flag whose default depends on other flags;
// get returns -1 until it is set.
type optionalCount struct {
	n   int
	set bool
}

func (o *optionalCount) get() int {
	if !o.set {
		return -1
	}
	return o.n
}

func (o *optionalCount) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.n)
}

func (o *optionalCount) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a count", s)
	}
	o.n, o.set = n, true
	return nil
}
