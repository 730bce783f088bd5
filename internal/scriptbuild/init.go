package scriptbuild

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"

	profiled "github.com/profiled/profiled"
)

// SDKDir is the folder, inside a script folder made by Init, holding the
// SDK's source (a module replacing SDKModule in the script's go.mod).
const SDKDir = "_profiled"

// Templates lists the names Init accepts.
func Templates() []string {
	ents, _ := fs.ReadDir(profiled.Templates, "templates")
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// Version is the version of this binary's SDK: the module version when
// built from a tagged module, else the VCS revision, else "devel".
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			return "devel-" + s.Value
		}
	}
	return "devel"
}

var modName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// Init writes a ready script folder into dir (created if missing; refused
// if it holds a file Init would write): go.mod requiring the SDK with a
// replace directive to SDKDir, the SDK's source at this binary's version in
// SDKDir, and the template's files (main.go, schema.sql, script_test.json,
// README.md). It returns the paths written, relative to dir.
func Init(dir, template string) ([]string, error) {
	root := path.Join("templates", template)
	if template == "" || strings.ContainsAny(template, `/\.`) {
		return nil, fmt.Errorf("unknown template %q (templates: %s)", template, strings.Join(Templates(), ", "))
	}
	if _, err := fs.Stat(profiled.Templates, root); err != nil {
		return nil, fmt.Errorf("unknown template %q (templates: %s)", template, strings.Join(Templates(), ", "))
	}
	files := map[string][]byte{}
	err := fs.WalkDir(profiled.Templates, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(profiled.Templates, p)
		files[strings.TrimPrefix(p, root+"/")] = b
		return err
	})
	if err != nil {
		return nil, err
	}
	sdkFiles, err := fs.Glob(profiled.GuestSources, "*/*.go")
	if err != nil {
		return nil, err
	}
	for _, f := range sdkFiles {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := profiled.GuestSources.ReadFile(f)
		if err != nil {
			return nil, err
		}
		files[path.Join(SDKDir, f)] = b
	}
	version := Version()
	files[path.Join(SDKDir, "go.mod")] = []byte("module " + SDKModule + "\n\ngo 1.24\n")
	files[path.Join(SDKDir, "VERSION")] = []byte(version + "\n")
	name := strings.ToLower(filepath.Base(filepath.Clean(dir)))
	if !modName.MatchString(name) {
		name = "script"
	}
	files["go.mod"] = []byte("module " + name + "\n\ngo 1.24\n\nrequire " + SDKModule + " v0.0.0\n\n" +
		"// The SDK's source at the version of the profiled binary that wrote this\n" +
		"// folder (" + version + "); `profiled script build` always compiles against\n" +
		"// its own copy, so keep the two in step with `profiled script init --sdk-only`.\n" +
		"replace " + SDKModule + " => ./" + SDKDir + "\n")
	if _, ok := files["README.md"]; !ok {
		files["README.md"] = []byte(defaultReadme(template))
	}

	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.HasPrefix(n, SDKDir+"/") {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(n))); err == nil {
			return nil, fmt.Errorf("%s already exists: init writes a new folder (use --sdk-only to refresh the SDK copy)", filepath.Join(dir, n))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if err := writeFiles(dir, files, names); err != nil {
		return nil, err
	}
	return names, nil
}

// RefreshSDK replaces dir's SDK copy with this binary's.
func RefreshSDK(dir string) error {
	target := filepath.Join(dir, SDKDir)
	if err := os.RemoveAll(target); err != nil {
		return err
	}
	if err := materializeSDK(target); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(target, "VERSION"), []byte(Version()+"\n"), 0o644)
}

func writeFiles(dir string, files map[string][]byte, names []string) error {
	for _, n := range names {
		dst := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, files[n], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func defaultReadme(template string) string {
	return "# A Profiled custom-database script (template " + template + ")\n\n" + readmeBody
}

const readmeBody = "```sh\n" +
	"go vet ./                                   # the SDK is in ./_profiled: editors, vet and tidy work offline\n" +
	"profiled script test . --db mysql://root@127.0.0.1:3306/   # run script_test.json against a fresh database\n" +
	"profiled script build . -o script.wasm      # compile (offline); upload with setConnectionScript\n" +
	"```\n\n" +
	"`script_test.json` creates the schema in a new database on that server, seeds it,\n" +
	"runs each step (an action with its arguments and expected outcome, or an SQL\n" +
	"check) in the same sandbox and with the same host functions as the server, then\n" +
	"drops the database. `--db sqlite:` uses a temporary SQLite file instead.\n\n" +
	"Extra modules: the build runs offline (GOPROXY=off). Run `go get MODULE@VERSION`\n" +
	"here once (online); it records the module in go.mod/go.sum and fills the module\n" +
	"cache the build then reads.\n"
