package test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/iwom/iwom/pipeline/config"
)

// binDir holds the binaries the tests build, side by side: iwomlab's
// bench e2e --processes runs the stages from the iwom beside it.
var (
	binDirOnce sync.Once
	binDir     string
	binDirErr  error
	builds     = map[string]*build{"iwom": {}, "iwomlab": {}}
)

type build struct {
	once sync.Once
	path string
	out  []byte
	err  error
}

// iwomBinary builds cmd/iwom (the production binary) once for the tests
// that run it.
func iwomBinary(t *testing.T) string { return buildBinary(t, "iwom") }

// iwomlabBinary builds cmd/iwomlab (training, evaluation, benchmarks, fake
// platforms) once, beside iwom, for the tests that run its commands.
func iwomlabBinary(t *testing.T) string {
	iwomBinary(t)
	return buildBinary(t, "iwomlab")
}

func buildBinary(t *testing.T, name string) string {
	t.Helper()
	binDirOnce.Do(func() { binDir, binDirErr = os.MkdirTemp("", "iwom-bin-") })
	if binDirErr != nil {
		t.Fatalf("building %s: %v", name, binDirErr)
	}
	b := builds[name]
	b.once.Do(func() {
		b.path = filepath.Join(binDir, name)
		b.out, b.err = exec.Command("go", "build", "-o", b.path, "../cmd/"+name).CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("building %s: %v\n%s", name, b.err, b.out)
	}
	return b.path
}

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck map[string]any `yaml:"healthcheck"`
		Profiles    []string       `yaml:"profiles"`
		Container   string         `yaml:"container_name"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// The compose file parses, runs real iwom subcommands with real flags,
// sets only environment variables that map to config keys, and wires
// dependencies and healthchecks.
func TestComposeFile(t *testing.T) {
	data, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(data, &cf); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	bin := iwomBinary(t)
	envKeys := map[string]bool{}
	for _, k := range config.Keys() {
		envKeys[config.EnvPrefix+"_"+strings.ToUpper(strings.ReplaceAll(k, ".", "_"))] = true
	}
	for _, need := range []string{"nats", "clickhouse", "migrate", "enrich", "sink", "alerts"} {
		if _, ok := cf.Services[need]; !ok {
			t.Errorf("service %s missing", need)
		}
	}
	if !strings.HasPrefix(cf.Services["nats"].Image, "nats:") || !slices.Contains(cf.Services["nats"].Command, "--jetstream") {
		t.Errorf("nats must be the official image with JetStream on")
	}
	if !strings.HasPrefix(cf.Services["clickhouse"].Image, "clickhouse/clickhouse-server:") {
		t.Errorf("clickhouse must be the official image")
	}
	for _, infra := range []string{"nats", "clickhouse"} {
		if cf.Services[infra].Healthcheck == nil {
			t.Errorf("%s has no healthcheck", infra)
		}
	}
	for _, v := range []string{"nats-data", "clickhouse-data"} {
		if _, ok := cf.Volumes[v]; !ok {
			t.Errorf("volume %s missing", v)
		}
	}
	iwomServices := 0
	for name, s := range cf.Services {
		if s.Image != "iwom:latest" {
			continue
		}
		iwomServices++
		if s.Build == nil {
			t.Errorf("%s: no build", name)
		}
		if s.Container != "" {
			t.Errorf("%s: container_name prevents --scale", name)
		}
		// A real subcommand with real flags: --help parses the flags and
		// prints the usage of the command that was found.
		args := append(append([]string{}, s.Command...), "--help")
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("%s: iwom %s: %v\n%s", name, strings.Join(s.Command, " "), err, out)
			continue
		}
		var path []string
		for _, a := range s.Command {
			if strings.HasPrefix(a, "-") {
				break
			}
			path = append(path, a)
		}
		if want := "iwom " + strings.Join(path, " "); !usageNames(string(out), want) {
			t.Errorf("%s: %q is not an iwom subcommand:\n%s", name, want, out)
		}
		for k := range s.Environment {
			if strings.HasPrefix(k, config.EnvPrefix+"_") && !envKeys[k] {
				t.Errorf("%s: environment %s maps to no config key", name, k)
			}
		}
		if name == "migrate" || slices.Contains(s.Profiles, "demo") {
			continue
		}
		if s.DependsOn["nats"].Condition != "service_healthy" || s.DependsOn["migrate"].Condition != "service_completed_successfully" {
			t.Errorf("%s: must wait for healthy nats and a completed migrate: %+v", name, s.DependsOn)
		}
		hc, _ := s.Healthcheck["test"].([]any)
		if len(hc) < 3 || hc[1] != "/usr/local/bin/iwom" || hc[2] != "health" {
			t.Errorf("%s: healthcheck must run iwom health: %v", name, s.Healthcheck)
		} else if out, err := exec.Command(bin, "health", "--help").CombinedOutput(); err != nil {
			t.Errorf("iwom health: %v %s", err, out)
		}
		if s.Environment["IWOM_METRICS_LISTEN"] == "" {
			t.Errorf("%s: healthcheck needs IWOM_METRICS_LISTEN", name)
		}
	}
	if iwomServices < 4 {
		t.Errorf("only %d iwom services", iwomServices)
	}
}

func usageNames(help, cmdPath string) bool {
	sc := bufio.NewScanner(strings.NewReader(help))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "Usage:" && sc.Scan() {
			u := strings.TrimSpace(sc.Text())
			return u == cmdPath || strings.HasPrefix(u, cmdPath+" ")
		}
	}
	return false
}

// The Dockerfile is multi-stage, builds a static cmd/iwom, and runs it as
// a non-root user.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	froms := regexp.MustCompile(`(?m)^FROM\s+\S+`).FindAllString(s, -1)
	if len(froms) < 2 {
		t.Errorf("want a multi-stage build, got %d FROM lines", len(froms))
	}
	if !regexp.MustCompile(`CGO_ENABLED=0 go build .*\./cmd/iwom`).MatchString(s) {
		t.Error("Dockerfile must build ./cmd/iwom statically (CGO_ENABLED=0)")
	}
	users := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllStringSubmatch(s, -1)
	if len(users) == 0 || strings.HasPrefix(users[len(users)-1][1], "root") || users[len(users)-1][1] == "0" {
		t.Errorf("the runtime stage must run as non-root: %v", users)
	}
	if !strings.Contains(s, `ENTRYPOINT ["/usr/local/bin/iwom"]`) {
		t.Error("ENTRYPOINT must be the iwom binary")
	}
	if !strings.Contains(s, "COPY --from=build /out/iwom /usr/local/bin/iwom") {
		t.Error("the runtime stage must copy the built binary")
	}
	// The image carries a CJK font, copied from a stage that installs it.
	if !regexp.MustCompile(`apt-get install [^\n]*fonts-noto-cjk`).MatchString(s) ||
		!regexp.MustCompile(`(?m)^COPY --from=fonts \S*NotoSansCJK\S*\.ttc `).MatchString(s) {
		t.Error("the runtime image must carry a CJK font (fonts-noto-cjk)")
	}
	if !regexp.MustCompile(`(?m)^EXPOSE .*\b8080\b`).MatchString(s) {
		t.Error("the image must expose 8080 (iwom serve)")
	}
}
